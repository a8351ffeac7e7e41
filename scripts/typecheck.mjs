#!/usr/bin/env node
// `pnpm typecheck`: type-checks every part of the repository.
//   1. packages, tests and benchmarks (tsconfig.json): any error fails;
//   2. sst.config.ts + infra/ against SST's generated platform types (tsconfig.infra.json);
//   3. the web app (web/tsconfig.json), when it exists.
//
// Step 2 needs `.sst/platform`, which scripts/sst-types.mjs generates offline. tsc follows the platform's
// imports into its TypeScript *sources* (skipLibCheck only skips .d.ts files), and those sources do not
// compile under this repository's stricter settings (verbatimModuleSyntax, noUncheckedIndexedAccess, …)
// nor, depending on the resolved @types/node, under SST's own. Diagnostics located inside `.sst/` are
// therefore counted and ignored; any other diagnostic, i.e. one in our infra code, fails the check.
//
// Usage: node scripts/typecheck.mjs [--only packages|infra|web] [--infra-project <tsconfig>]
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const tscBin = join(root, "node_modules", "typescript", "bin", "tsc");

function option(name) {
  const index = process.argv.indexOf(name);
  if (index === -1) return undefined;
  const value = process.argv[index + 1];
  if (value === undefined || value.startsWith("--")) {
    console.error(`typecheck: ${name} needs a value`);
    process.exit(2);
  }
  return value;
}

const only = option("--only");
if (only !== undefined && !["packages", "infra", "web"].includes(only)) {
  console.error(`typecheck: --only must be packages, infra or web (got "${only}")`);
  process.exit(2);
}
const infraProject = resolve(root, option("--infra-project") ?? "tsconfig.infra.json");

function runTsc(project) {
  const result = spawnSync(process.execPath, [tscBin, "-p", project, "--pretty", "false"], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** Splits tsc's plain output into diagnostics: a diagnostic's continuation lines are indented. */
function diagnostics(output) {
  const list = [];
  for (const line of output.split("\n")) {
    if (line.trim() === "") continue;
    if (/^\s/.test(line) && list.length > 0) list[list.length - 1] += `\n${line}`;
    else list.push(line);
  }
  return list;
}

/** True for a diagnostic located in SST's generated platform sources. */
function isPlatformDiagnostic(diagnostic) {
  const file = diagnostic.split("(", 1)[0].replaceAll("\\", "/");
  return file.startsWith(".sst/") || file.includes("/.sst/");
}

const failures = [];

function checkPackages() {
  console.log("typecheck: packages, tests, benchmarks (tsconfig.json)");
  const { status, output } = runTsc(join(root, "tsconfig.json"));
  if (status !== 0) {
    process.stdout.write(output);
    failures.push("tsconfig.json");
  }
}

function checkInfra() {
  const types = spawnSync(process.execPath, [join(root, "scripts", "sst-types.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
  if (types.status !== 0) {
    failures.push("SST platform types (scripts/sst-types.mjs)");
    return;
  }
  console.log(`typecheck: sst.config.ts + infra (${infraProject.replace(`${root}/`, "")})`);
  const { output } = runTsc(infraProject);
  const all = diagnostics(output);
  const ours = all.filter((diagnostic) => !isPlatformDiagnostic(diagnostic));
  const ignored = all.length - ours.length;
  if (ignored > 0) console.log(`typecheck: ignored ${ignored} diagnostics inside .sst/ (SST's platform sources)`);
  if (ours.length > 0) {
    console.log(ours.join("\n"));
    failures.push("infra");
  }
}

function checkWeb() {
  const project = join(root, "web", "tsconfig.json");
  if (!existsSync(project)) {
    console.log("typecheck: web/tsconfig.json not found, web app skipped");
    return;
  }
  console.log("typecheck: web app (web/tsconfig.json)");
  const { status, output } = runTsc(project);
  if (status !== 0) {
    process.stdout.write(output);
    failures.push("web");
  }
}

// One after another: tsc is memory- and CPU-hungry and the machines running this are small.
if (only === undefined || only === "packages") checkPackages();
if (only === undefined || only === "infra") checkInfra();
if (only === undefined || only === "web") checkWeb();

if (failures.length > 0) {
  console.error(`typecheck: FAILED (${failures.join(", ")})`);
  process.exit(1);
}
console.log("typecheck: OK");
