import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Graph } from "./checks";
import { deployShell, ensurePlatform, ROOT } from "./graph";

// `pnpm sst:graph` as a user runs it: the JSON file with --out, a summary without, a clear refusal of
// a bad argument.

const dir = mkdtempSync(join(tmpdir(), "wsauth-graph-cli-"));

function sstGraph(args: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, "scripts/sst-graph.mjs"), ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: deployShell() as NodeJS.ProcessEnv,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => ensurePlatform(), 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("pnpm sst:graph", () => {
  it("writes the graph of a stage as JSON with --out", () => {
    const file = join(dir, "graph.json");
    const { status, stdout, stderr } = sstGraph(["--stage", "ci", "--out", file]);
    expect(status, stderr).toBe(0);
    expect(stdout).toMatch(/sst-graph: \d+ resources, \d+ functions for stage "ci" -> /);
    const graph = JSON.parse(readFileSync(file, "utf8")) as Graph;
    expect(graph.stage).toBe("ci");
    expect(graph.dev).toBe(false);
    for (const resource of graph.resources) {
      expect(Object.keys(resource)).toEqual(expect.arrayContaining(["type", "name", "inputs", "options"]));
      expect(typeof resource.options.retainOnDelete).toBe("boolean");
      expect(typeof resource.options.protect).toBe("boolean");
    }
    for (const fn of graph.functions) {
      expect(Object.keys(fn)).toEqual(expect.arrayContaining(["name", "handler", "links", "environment", "policy"]));
    }
  }, 120_000);

  it("prints a summary without --out, and refuses an unknown argument", () => {
    const summary = sstGraph(["--stage", "ci", "--dev"]);
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toContain('Stage "ci" in dev mode:');
    expect(summary.stdout).toContain("packages/functions/src/authorizer.handler");
    const bad = sstGraph(["--stag", "ci"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(
      'unknown argument "--stag" (usage: pnpm sst:graph [--stage NAME] [--dev] [--out FILE])',
    );
  }, 120_000);
});
