import { accessSync, constants, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// CI must run exactly what README.md tells a user to run, so a green build means the documented
// commands work.

const root = resolve(import.meta.dirname, "../..");
const TEST_COMMAND = "npx -y pnpm@10.34.8 install --frozen-lockfile && npx -y pnpm@10.34.8 test";
const LOCAL_COMMAND = "npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 local";

describe(".ci/run and README.md", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const ci = readFileSync(join(root, ".ci/run"), "utf8");

  it("documents the two quick-start commands", () => {
    expect(readme).toContain(`\n${LOCAL_COMMAND}\n`);
    expect(readme).toContain(`\n${TEST_COMMAND}\n`);
  });

  it("ends CI with exactly the README's test command, so the vitest summary is the last output", () => {
    const commands = ci.split("\n").filter((line) => line.trim() !== "" && !line.trimStart().startsWith("#"));
    expect(commands.at(-1)).toBe(TEST_COMMAND);
  });

  it("pins the same pnpm version as package.json", () => {
    const { packageManager } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      packageManager: string;
    };
    expect(TEST_COMMAND).toContain(packageManager);
  });

  it("is an executable bash script that stops on the first failure", () => {
    expect(() => accessSync(join(root, ".ci/run"), constants.X_OK)).not.toThrow();
    expect(ci.startsWith("#!/usr/bin/env bash\n")).toBe(true);
    expect(ci).toContain("set -euo pipefail");
  });
});
