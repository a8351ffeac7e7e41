// How the SST CLI turns `sst.config.ts` into the Pulumi program it runs, restated for the offline graph
// evaluation. The CLI (Go) does this in pkg/project/run.go (`Run`: the entry code, `$app`/`$cli`/`$dev`
// defines, the injected shim, the provider globals) and pkg/js/js.go (`Build`: the esbuild options).
// test/deploy/recipe.test.ts checks every string below against the pinned SST's binary and platform
// sources, so an SST upgrade that changes the recipe fails loudly instead of drifting.
import { join } from "node:path";

/** The SST version this recipe was read from; package.json pins exactly this version. */
export const SST_VERSION = "4.17.1";

/**
 * The program entry (run.go): `run` from the platform wraps the config's `run()` with SST's stack
 * transformations; the result is the stack's outputs.
 */
export function entryCode({ autoRun, config }) {
  return `
      import { run } from "${autoRun}";
			import mod from '${config}';
      const result = await run(mod.run);
      export default result;
    `;
}

/** Paths the CLI uses, relative to the working directory `.sst` (p.PathWorkingDir()). */
export const PLATFORM_PATHS = {
  autoRun: "platform/src/auto/run.ts",
  shim: "platform/src/shim/run.js",
  components: "src/components",
};

/** Banner js.go puts in front of the bundle (CommonJS globals for an ESM bundle). */
export const BANNER = `
import { createRequire as topLevelCreateRequire } from 'module';
const require = topLevelCreateRequire(import.meta.url);
import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"
const __filename = topLevelFileUrlToPath(import.meta.url)
const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))
`;

/** Packages js.go leaves external (loaded from `.sst/platform/node_modules` at run time). */
export const EXTERNAL = [
  "@pulumi/*",
  "undici",
  "@pulumiverse/*",
  "@sst-provider/*",
  "@aws-sdk/*",
  "esbuild",
  "archiver",
  "glob",
  "vite",
];

/**
 * The provider globals run.go prepends to every user file (not to files under `.sst`): one
 * `import * as <alias> from "<package>"` per entry of `.sst/provider-lock.json`, then the components.
 */
export function providerGlobals(lock, platformDir) {
  return [
    ...lock.map((entry) => `import * as ${entry.alias} from "${entry.package}";`),
    `import * as sst from "${join(platformDir, PLATFORM_PATHS.components).replaceAll("\\", "/")}";`,
  ].join("\n");
}

/**
 * The JSON-RPC methods the platform's components call on the CLI while a program runs
 * (`POST $SST_SERVER/rpc`, JSON-RPC 1.0). The graph evaluation answers exactly these; any other call
 * fails the evaluation with its name.
 */
export const RPC_METHODS = {
  bootstrap: "Provider.Aws.Bootstrap",
  /** `sst dev` only: the AppSync Events endpoints of the live bridge. */
  appsync: "Provider.Aws.Appsync",
  build: "Runtime.Build",
  addTarget: "Runtime.AddTarget",
};
