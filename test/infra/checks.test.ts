import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

// CI runs only `pnpm test`, so the repository-wide checks run here too: a type error or a lint finding
// anywhere fails the suite, not just a separate command nobody ran.

const root = resolve(import.meta.dirname, "../..");

function run(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("repository checks", () => {
  it("pnpm typecheck passes (packages, tests, infra against SST's types, the site)", () => {
    const { status, output } = run([resolve(root, "scripts/typecheck.mjs")]);
    expect(status, output).toBe(0);
    expect(output).toContain("typecheck: OK");
  }, 600_000);

  it("pnpm lint (Biome) finds nothing", () => {
    const { status, output } = run([resolve(root, "node_modules/@biomejs/biome/bin/biome"), "check", "."]);
    expect(status, output).toBe(0);
  }, 120_000);
});
