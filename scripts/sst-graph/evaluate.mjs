#!/usr/bin/env node
// Child process of the graph evaluation (scripts/sst-graph/index.mjs starts it; `run()` changes the
// working directory and Pulumi keeps global state, so each evaluation gets a process of its own).
//
// It does what `sst deploy` does up to the point where Pulumi would call AWS: bundles `sst.config.ts`
// with SST's recipe (recipe.mjs), loads the bundle inside `.sst/platform` so it shares the one
// `@pulumi/pulumi` the mocks are set on, answers the components' JSON-RPC calls (rpc-server.mjs) and
// records every resource with its inputs and options. Nothing here talks to AWS: the mocks answer
// every provider call and `fetch` is limited to the user pool's JWKS, which a test key set answers.
//
// Usage (internal): node scripts/sst-graph/evaluate.mjs '<json request>'
//   request: { root, stage, dev, resultFile, jwks?: object, siteBuild?: "placeholder" | "real" }
import { generateKeyPairSync } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { createMocks } from "./mocks.mjs";
import { BANNER, EXTERNAL, entryCode, PLATFORM_PATHS, providerGlobals } from "./recipe.mjs";
import { redact } from "./redact.mjs";
import { startRpcServer } from "./rpc-server.mjs";

/** The region the mocks report (`aws.getRegionOutput()`); fixed so graphs are comparable. */
export const GRAPH_REGION = "us-east-1";

const request = JSON.parse(process.argv[2] ?? "{}");
const repoRoot = resolve(request.root);
const platformDir = join(repoRoot, ".sst", "platform");
const tempDir = mkdtempSync(join(tmpdir(), "wsauth-graph-"));
/** Bundles written into `.sst/platform`; removed with the temp folder however the process ends. */
const bundles = new Set();
process.on("exit", () => {
  for (const file of bundles) rmSync(file, { force: true });
  rmSync(tempDir, { recursive: true, force: true });
});
const siteBuild = request.siteBuild === "real" ? "real" : "placeholder";
/** The root SST sees: the repository itself, or its shadow with a placeholder site build. */
const root = siteBuild === "real" ? repoRoot : shadowRootWithPlaceholderSite();
const workDir = join(root, ".sst");
const shellEnv = { ...process.env };

/** The provider lock `sst install` writes; it decides which provider globals user files get. */
function providerLock() {
  const file = join(repoRoot, ".sst", "provider-lock.json");
  return existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : [];
}

/** Bundles `code` with SST's esbuild options (js.go `Build`) to `outfile`. */
async function bundle({ code, outfile, define, app = false }) {
  const globals = app ? "" : providerGlobals(providerLock(), platformDir);
  bundles.add(outfile);
  await build({
    // `app()` runs before the platform is loaded: only `$config` (which returns its argument) exists.
    banner: { js: app ? `${BANNER}\nglobalThis.$config = (input) => input;\n` : BANNER },
    mainFields: ["module", "main"],
    format: "esm",
    platform: "node",
    stdin: { contents: code, resolveDir: root, sourcefile: "eval.ts", loader: "ts" },
    nodePaths: [join(platformDir, "node_modules")],
    plugins: [
      {
        name: "InjectGlobals",
        setup(pluginBuild) {
          pluginBuild.onLoad({ filter: /\.(js|ts|jsx|tsx)$/ }, (args) => {
            const contents = readFileSync(args.path, "utf8");
            return { contents: args.path.includes(".sst") ? contents : `${globals}\n${contents}`, loader: "default" };
          });
        },
      },
    ],
    external: EXTERNAL,
    define,
    inject: app ? [] : [join(workDir, PLATFORM_PATHS.shim)],
    outfile,
    write: true,
    bundle: true,
    logLevel: "silent",
  });
}

/** `app()` of sst.config.ts for the stage, as the CLI evaluates it before running the program. */
async function evaluateApp() {
  const outfile = join(platformDir, `sst.graph-app.${process.pid}.mjs`);
  try {
    await bundle({
      code: `import mod from '${join(root, "sst.config.ts")}';\nexport default await mod.app({ stage: ${JSON.stringify(request.stage)} });`,
      outfile,
      define: {},
      app: true,
    });
    return (await import(pathToFileURL(outfile).href)).default;
  } finally {
    rmSync(outfile, { force: true });
  }
}

/**
 * `fetch` while the program runs: the user pool's JWKS (infra/auth.ts snapshots it at deploy time) is
 * answered with a test key set; anything else is refused, so the evaluation never reaches a network.
 */
function limitFetch(jwks) {
  globalThis.fetch = async (input) => {
    const url = String(input instanceof Request ? input.url : input);
    if (/^https:\/\/cognito-idp\.[a-z0-9-]+\.amazonaws\.com\/[^/]+\/\.well-known\/jwks\.json$/.test(url)) {
      return new Response(JSON.stringify(jwks), { status: 200, headers: { "content-type": "application/json" } });
    }
    throw new TypeError(`fetch failed: the graph evaluation is offline (${url})`);
  };
}

/** A public JWKS of a fresh RSA key, shaped like Cognito's. */
function testJwks() {
  const { publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { keys: [{ ...publicKey.export({ format: "jwk" }), alg: "RS256", kid: "graph-test-key", use: "sig" }] };
}

/**
 * The site's build output. `sst deploy` runs OpenNext (a `command:local:Command`, which the mocks never
 * run) and then reads `<site>/.open-next` and `<site>/.next`. Unless asked to use a real build, the
 * evaluation runs against a shadow of the repository (symbolic links to every entry) whose site folder
 * holds a minimal OpenNext output instead, so a graph never depends on (or races with) a build in the
 * working tree and nothing is written into it.
 */
function shadowRootWithPlaceholderSite() {
  const shadow = join(tempDir, "root");
  mkdirSync(shadow);
  for (const entry of readdirSync(repoRoot)) {
    if (entry !== "web") symlinkSync(join(repoRoot, entry), join(shadow, entry));
  }
  const site = join(shadow, "web");
  mkdirSync(site);
  for (const entry of readdirSync(join(repoRoot, "web"))) {
    if (entry !== ".open-next" && entry !== ".next") symlinkSync(join(repoRoot, "web", entry), join(site, entry));
  }
  const files = {
    ".open-next/server-functions/default/index.mjs": "// placeholder server function\n",
    ".open-next/image-optimization-function/index.mjs": "// placeholder image optimizer\n",
    ".open-next/assets/favicon.ico": "",
    ".open-next/assets/_next/static/placeholder/_buildManifest.js": "",
    ".next/BUILD_ID": "graph-placeholder",
    ".next/routes-manifest.json": JSON.stringify({ basePath: "" }),
    ".next/prerender-manifest.json": JSON.stringify({ version: 4, routes: {} }),
    ".open-next/open-next.output.json": JSON.stringify({
      edgeFunctions: {},
      origins: {
        s3: {
          type: "s3",
          originPath: "_assets",
          copy: [{ from: ".open-next/assets", to: "_assets", cached: true, versionedSubDir: "_next" }],
        },
        default: { type: "function", handler: "index.handler", bundle: ".open-next/server-functions/default" },
        imageOptimizer: {
          type: "function",
          handler: "index.handler",
          bundle: ".open-next/image-optimization-function",
        },
      },
      behaviors: [
        { pattern: "_next/image*", origin: "imageOptimizer" },
        { pattern: "_next/data/*", origin: "default" },
        { pattern: "*", origin: "default" },
        { pattern: "_next/*", origin: "s3" },
      ],
      additionalProps: { disableIncrementalCache: true, disableTagCache: true },
    }),
  };
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(site, file)), { recursive: true });
    writeFileSync(join(site, file), content);
  }
  return shadow;
}

/** Parses a role's inline policies (`aws:iam/role:Role` inputs) into IAM statements. */
function roleStatements(role) {
  return (role?.inputs.inlinePolicies ?? []).flatMap((policy) => {
    const document = typeof policy.policy === "string" ? JSON.parse(policy.policy) : policy.policy;
    return document?.Statement ?? [];
  });
}

/** Paths in the graph name the repository, not its shadow. */
function unshadow(graph) {
  return root === repoRoot ? graph : JSON.parse(JSON.stringify(graph).replaceAll(root, repoRoot));
}

async function main() {
  if (!existsSync(join(platformDir, "src", "auto", "run.ts"))) {
    throw new Error(".sst/platform is missing; run `pnpm sst:types` first");
  }
  const requirePlatform = createRequire(join(platformDir, "package.json"));
  const pulumi = requirePlatform("@pulumi/pulumi");
  const { MockMonitor } = requirePlatform("@pulumi/pulumi/runtime/mocks");
  const settings = requirePlatform("@pulumi/pulumi/runtime/settings");

  const appConfig = await evaluateApp();
  const app = {
    ...appConfig,
    stage: request.stage,
    providers: appConfig.providers ?? (appConfig.home === "local" ? {} : { [appConfig.home]: {} }),
  };
  const cli = {
    command: "deploy",
    dev: request.dev,
    paths: { home: join(tempDir, "home"), root, work: workDir, platform: platformDir },
    state: { version: {} },
  };

  process.chdir(root);
  const rpc = await startRpcServer({ root, artifactsDir: join(tempDir, "artifacts"), region: GRAPH_REGION });
  process.env.SST_SERVER = rpc.url;
  const jwks = request.jwks ?? testJwks();
  limitFetch(jwks);

  // Pulumi's mock monitor names a child `<parent type>$<type>`, including for children of the root
  // stack; the engine leaves the root stack out of a URN's type. SST's Link reads a linked resource's
  // type from its URN, so the mock must leave it out too.
  const newUrn = MockMonitor.prototype.newUrn;
  MockMonitor.prototype.newUrn = function (parent, type, name) {
    const fromStack = typeof parent === "string" && parent.split("::")[2] === "pulumi:pulumi:Stack";
    return newUrn.call(this, fromStack ? undefined : parent, type, name);
  };
  // Resource options as the engine would receive them, after every transformation (SST's included).
  const options = new Map();
  const registerResource = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (req, callback) {
    options.set(`${req.getType()}::${req.getName()}`, {
      protect: req.getProtect?.() ?? false,
      retainOnDelete: req.getRetainondelete?.() ?? false,
      parent: req.getParent() || undefined,
      custom: req.getCustom(),
    });
    return registerResource.call(this, req, callback);
  };

  const resources = [];
  await pulumi.runtime.setMocks(
    createMocks({ region: GRAPH_REGION, onResource: (resource) => resources.push(resource) }),
    app.name,
    request.stage,
    false,
  );

  const outfile = join(platformDir, `sst.graph.${process.pid}.${Date.now()}.mjs`);
  let outputs;
  try {
    await bundle({
      code: entryCode({ autoRun: join(workDir, PLATFORM_PATHS.autoRun), config: join(root, "sst.config.ts") }),
      outfile,
      define: { $app: JSON.stringify(app), $cli: JSON.stringify(cli), $dev: String(Boolean(request.dev)) },
    });
    outputs = await pulumi.runtime.runInPulumiStack(async () => (await import(pathToFileURL(outfile).href)).default);
    await settings.waitForRPCs();
    // Some RPC calls (dev mode's Runtime.AddTarget) run in an output's apply that no resource waits
    // for, and may still be pending when the program's resource registrations are done: wait until
    // the calls stop coming (the real CLI stays up, so it receives them).
    for (let seen = -1; seen !== rpc.calls.length; ) {
      seen = rpc.calls.length;
      await new Promise((resolve) => setTimeout(resolve, 250));
      await settings.waitForRPCs();
    }
  } finally {
    rmSync(outfile, { force: true });
    await rpc.close();
  }

  const resourceList = resources.map((resource) => ({
    type: resource.type,
    name: resource.name,
    id: resource.id,
    ...(resource.state.arn ? { arn: resource.state.arn } : {}),
    inputs: resource.inputs,
    options: options.get(`${resource.type}::${resource.name}`) ?? { protect: false, retainOnDelete: false },
  }));
  const byTypeAndName = (type, name) => resourceList.find((r) => r.type === type && r.name === name);
  const buildCalls = rpc.calls.filter((call) => call.method === "Runtime.Build" || call.method === "Runtime.AddTarget");
  const functionIds = [...new Set(buildCalls.map((call) => call.input.functionID))];
  const functions = functionIds.map((name) => {
    const input = buildCalls.find((call) => call.input.functionID === name).input;
    const lambda = byTypeAndName("aws:lambda/function:Function", `${name}Function`);
    return {
      name,
      ...(lambda ? { physicalName: lambda.inputs.name } : {}),
      handler: input.handler,
      ...(input.bundle ? { bundle: isAbsolute(input.bundle) ? relative(root, input.bundle) : input.bundle } : {}),
      links: Object.keys(input.links ?? {}).sort(),
      environment: lambda?.inputs.environment?.variables ?? {},
      policy: roleStatements(byTypeAndName("aws:iam/role:Role", `${name}Role`)),
    };
  });

  const graph = unshadow(
    redact(
      {
        stage: request.stage,
        dev: Boolean(request.dev),
        region: GRAPH_REGION,
        app: { name: app.name, removal: app.removal, protect: Boolean(app.protect) },
        siteBuild,
        jwks,
        outputs,
        rpc: rpc.calls.map((call) => call.method),
        resources: resourceList,
        functions,
      },
      shellEnv,
    ),
  );
  writeFileSync(request.resultFile, JSON.stringify(graph), { mode: 0o600 });
}

try {
  await main();
  process.exit(0);
} catch (error) {
  process.stderr.write(`sst-graph: ${error?.stack ?? error}\n`);
  process.exit(1);
}
