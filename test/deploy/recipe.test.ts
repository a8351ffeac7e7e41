import { readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensurePlatform, ROOT } from "./graph";

// The offline graph restates how the SST CLI bundles and runs sst.config.ts (scripts/sst-graph/recipe.mjs)
// and answers the CLI's JSON-RPC methods. Both come from one SST version. This guard fails loudly when
// SST is bumped and the recipe or the RPC surface changed: the pins must move together, and every
// string of the recipe must still be in the new CLI binary and platform sources.

interface Recipe {
  SST_VERSION: string;
  BANNER: string;
  EXTERNAL: string[];
  PLATFORM_PATHS: { autoRun: string; shim: string; components: string };
  RPC_METHODS: Record<string, string>;
  entryCode(paths: { autoRun: string; config: string }): string;
}
const recipe = (await import(join(ROOT, "scripts/sst-graph/recipe.mjs"))) as Recipe;
const platformDir = join(ROOT, ".sst", "platform");

/** The pieces of the CLI's Go recipe (run.go, js.go) the evaluation depends on, as they sit in its binary. */
function recipeStrings(): string[] {
  const entry = recipe.entryCode({ autoRun: "%v", config: "%s" });
  return [
    ...entry
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean),
    ...recipe.BANNER.split("\n").filter(Boolean),
    ...recipe.EXTERNAL,
    recipe.PLATFORM_PATHS.autoRun,
    recipe.PLATFORM_PATHS.shim,
    'import * as sst from "%s";',
    "InjectGlobals",
    "SST_SERVER=http://127.0.0.1:",
  ];
}

/** Recipe strings missing from `binary`. */
function missingFromBinary(binary: Buffer, strings: string[]): string[] {
  return strings.filter((text) => binary.indexOf(text) === -1);
}

/** Every `rpc.call("<method>"` in the platform sources. */
function platformRpcCalls(dir: string): Set<string> {
  const names = new Set<string>();
  const visit = (path: string) => {
    for (const entry of readdirSync(path)) {
      const child = join(path, entry);
      if (statSync(child).isDirectory()) visit(child);
      else if (/\.tsx?$/.test(entry)) {
        for (const match of readFileSync(child, "utf8").matchAll(/rpc\.call(?:<[^>]*>)?\(\s*"([A-Za-z.]+)"/gs)) {
          names.add(match[1] as string);
        }
      }
    }
  };
  visit(dir);
  return names;
}

/** RPC methods the platform calls that the evaluation does not answer, and answered ones nobody calls. */
function rpcDrift(called: Set<string>, answered: string[]): string[] {
  return [
    ...[...called].filter((name) => !answered.includes(name)).map((name) => `not answered: ${name}`),
    ...answered.filter((name) => !called.has(name)).map((name) => `no longer called: ${name}`),
  ];
}

beforeAll(() => ensurePlatform(), 600_000);

describe("the SST recipe the offline graph restates", () => {
  it("is pinned to the one SST version everywhere", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const functions = JSON.parse(readFileSync(join(ROOT, "packages/functions/package.json"), "utf8"));
    const installed = JSON.parse(readFileSync(join(ROOT, "node_modules/sst/package.json"), "utf8"));
    expect(manifest.devDependencies.sst).toBe(recipe.SST_VERSION);
    expect(functions.dependencies.sst).toBe(recipe.SST_VERSION);
    expect(installed.version).toBe(recipe.SST_VERSION);
    expect(readFileSync(join(platformDir, "version"), "utf8").trim()).toBe(recipe.SST_VERSION);
  });

  it("is still what the pinned SST CLI does", () => {
    const requireFromSst = createRequire(realpathSync(join(ROOT, "node_modules/sst/package.json")));
    const binaryPackage = requireFromSst.resolve(`sst-${platform()}-${arch()}/package.json`);
    const binary = readFileSync(join(binaryPackage, "..", "bin", "sst"));
    expect(missingFromBinary(binary, recipeStrings())).toEqual([]);
    // The guard itself: a recipe string the CLI does not contain is reported.
    expect(missingFromBinary(binary, ['import { run } from "%v"; // renamed'])).toHaveLength(1);
  });

  it("answers exactly the RPC methods the platform's components call, over JSON-RPC 1.0 at $SST_SERVER/rpc", () => {
    const called = platformRpcCalls(join(platformDir, "src"));
    expect(rpcDrift(called, Object.values(recipe.RPC_METHODS))).toEqual([]);
    expect(rpcDrift(new Set([...called, "Runtime.Deploy"]), Object.values(recipe.RPC_METHODS))).toEqual([
      "not answered: Runtime.Deploy",
    ]);
    const transport = readFileSync(join(platformDir, "src/components/rpc/rpc.ts"), "utf8");
    expect(transport).toContain('jsonrpc: "1.0"');
    expect(transport).toContain('process.env.SST_SERVER! + "/rpc"');
    for (const file of [recipe.PLATFORM_PATHS.autoRun, recipe.PLATFORM_PATHS.shim]) {
      expect(statSync(join(ROOT, ".sst", file)).isFile()).toBe(true);
    }
  });
});
