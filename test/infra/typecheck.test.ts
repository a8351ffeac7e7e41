import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// `pnpm typecheck` ignores diagnostics inside SST's generated platform sources (.sst/) and must still
// fail on any error in our infra code. This runs the real script over the real infra plus one file with
// deliberate mistakes: the only diagnostics reported must be the deliberate ones.

const root = resolve(import.meta.dirname, "../..");
const workDir = mkdtempSync(join(tmpdir(), "wsauth-typecheck-"));

function run(args: string[]) {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  // Generates .sst/platform when missing (npm downloads, once); fast when it is already there.
  const types = run([join(root, "scripts/sst-types.mjs")]);
  if (types.status !== 0) throw new Error(`offline SST type generation failed:\n${types.output}`);
}, 600_000);

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
});

describe("pnpm typecheck over infra", () => {
  it("reports an error in infra code and nothing else", () => {
    const broken = join(workDir, "broken.ts");
    writeFileSync(
      broken,
      [
        "// Deliberate mistakes: an unknown field type, and a component used as a number.",
        'export const table: number = new sst.aws.Dynamo("Broken", {',
        '  fields: { pk: "text" },',
        '  primaryIndex: { hashKey: "pk" },',
        "});",
        "",
      ].join("\n"),
    );
    const project = join(workDir, "tsconfig.json");
    writeFileSync(
      project,
      JSON.stringify({
        extends: join(root, "tsconfig.infra.json"),
        compilerOptions: { typeRoots: [join(root, "node_modules/@types")] },
        include: [
          join(root, "sst.config.ts"),
          join(root, "infra/**/*.ts"),
          join(root, ".sst/platform/config.d.ts"),
          broken,
        ],
      }),
    );

    const { status, output } = run([
      join(root, "scripts/typecheck.mjs"),
      "--only",
      "infra",
      "--infra-project",
      project,
    ]);

    expect(status, output).toBe(1);
    const reported = output.split("\n").filter((line) => /\): error TS\d+/.test(line) || /^error TS\d+/.test(line));
    expect(reported.length, output).toBeGreaterThan(0);
    for (const line of reported) expect(line, output).toContain("broken.ts(");
    expect(output).toContain("typecheck: FAILED (infra)");
  }, 300_000);
});
