// The offline deploy graph: what `sst deploy` (or `sst dev`) would create for a stage, evaluated from
// `sst.config.ts` with SST's own platform code under Pulumi's mocks, without AWS credentials or network.
// `pnpm sst:graph` is its command line; the `deploy` test project asserts on it.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Evaluates the app for `stage` (dev mode with `dev`) in a child process and resolves with the graph.
 * `env` replaces the child's environment (the deploying shell as SST would see it).
 */
export async function evaluateGraph({
  stage,
  dev = false,
  env = process.env,
  root = REPO_ROOT,
  jwks,
  siteBuild = "placeholder",
} = {}) {
  if (!stage) throw new Error("evaluateGraph needs a stage");
  const dir = mkdtempSync(join(tmpdir(), "wsauth-graph-result-"));
  const resultFile = join(dir, "graph.json");
  try {
    const request = JSON.stringify({ root, stage, dev, resultFile, jwks, siteBuild });
    const { code, stderr } = await new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, "scripts/sst-graph/evaluate.mjs"), request], {
        cwd: root,
        env: { ...env, NODE_OPTIONS: "--no-deprecation --no-warnings" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk) => {
        output += chunk;
      });
      child.stderr.on("data", (chunk) => {
        output += chunk;
      });
      child.on("error", reject);
      child.on("close", (exitCode) => resolvePromise({ code: exitCode, stderr: output }));
    });
    if (code !== 0) throw new Error(`the graph evaluation failed (exit ${code}):\n${stderr.trim()}`);
    const graph = JSON.parse(readFileSync(resultFile, "utf8"));
    return { ...graph, log: stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
