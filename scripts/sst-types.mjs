#!/usr/bin/env node
// Offline type generation for the SST app: creates `.sst/platform` (SST's component sources, the
// providers' npm packages and `config.d.ts`) so `sst.config.ts` and `infra/` can be type-checked on a
// machine without AWS credentials and without the Pulumi/Bun downloads `sst install` normally makes.
//
// FOR TYPE-CHECKING ONLY. It never deploys and refuses any argument that looks like an SST command.
// Deploying (`sst dev`, `sst deploy`, `sst remove`) needs the real Pulumi CLI that `sst` installs itself.
//
// How: `sst install` is run with SST's own switches
//   SST_SKIP_DEPENDENCY_CHECK=1  do not look for (or download) the Pulumi CLI and Bun; `install` only
//                                generates files and never calls Pulumi,
//   SST_NO_BUN=1                 install the platform's npm packages with npm instead of Bun,
//   SST_TELEMETRY_DISABLED=1     no telemetry calls,
//   SST_STAGE=typegen            `install` insists on a stage; nothing is created for it,
// and with XDG_CONFIG_HOME pointing at a private directory under node_modules/.cache, because the SST
// binary creates `$XDG_CONFIG_HOME/sst/bin` at start-up and must not touch the user's real config.
//
// Usage: node scripts/sst-types.mjs [--force]
// Fast when already done: it skips the install when `.sst/platform` matches the installed SST version.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const platformDir = join(root, ".sst", "platform");
const lockDir = join(root, ".sst", "typegen.lock");
const configHome = join(root, "node_modules", ".cache", "wsauth-sst-typegen");
/** A concurrent run (e.g. `pnpm typecheck` next to the infra tests) gets this long to finish. */
const LOCK_WAIT_MS = 10 * 60 * 1000;
/** A lock older than this belongs to a run that died. */
const STALE_LOCK_MS = 15 * 60 * 1000;

function fail(message) {
  console.error(`sst-types: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== "--force");
if (unknown.length > 0) {
  fail(
    `refusing "${unknown.join(" ")}": this script only generates types offline. ` +
      "Deploy with the real CLI instead (`npx sst deploy --stage <stage>`), which installs Pulumi itself.",
  );
}
const force = args.includes("--force");

// `sst` is a root devDependency, so it sits in the root node_modules (its `exports` hide package.json
// from require.resolve).
const sstPackageJson = join(root, "node_modules", "sst", "package.json");
if (!existsSync(sstPackageJson)) fail("the `sst` package is not installed; run `pnpm install` first.");
const sstVersion = JSON.parse(readFileSync(sstPackageJson, "utf8")).version;
const sstLauncher = join(dirname(sstPackageJson), "bin", "sst.mjs");

function isUpToDate() {
  const versionFile = join(platformDir, "version");
  return (
    existsSync(join(platformDir, "config.d.ts")) &&
    existsSync(join(platformDir, "node_modules", "@pulumi", "aws", "package.json")) &&
    existsSync(versionFile) &&
    readFileSync(versionFile, "utf8").trim() === sstVersion
  );
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** mkdir is atomic: whoever creates the lock directory installs, everyone else waits for it. */
function acquireLock() {
  mkdirSync(dirname(lockDir), { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    try {
      if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
    } catch {
      continue; // released between our mkdir and stat
    }
    if (Date.now() > deadline) fail(`another run holds ${lockDir}; remove it if no install is running.`);
    sleep(500);
  }
}

if (!force && isUpToDate()) {
  console.log(`sst-types: .sst/platform is up to date (sst ${sstVersion})`);
  process.exit(0);
}

/** Runs `sst install`; returns an error message, or undefined on success. */
function install() {
  mkdirSync(configHome, { recursive: true });
  console.log(`sst-types: generating .sst/platform with sst ${sstVersion} (offline mode, types only)…`);
  const result = spawnSync(process.execPath, [sstLauncher, "install"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: {
      ...process.env,
      XDG_CONFIG_HOME: configHome,
      SST_SKIP_DEPENDENCY_CHECK: "1",
      SST_NO_BUN: "1",
      SST_TELEMETRY_DISABLED: "1",
      SST_STAGE: "typegen",
    },
  });
  if (result.error) return `could not start sst: ${result.error.message}`;
  if (result.status !== 0 || !isUpToDate()) {
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}`.trim();
    return (
      `\`sst install\` failed (exit ${result.status}).\n${output}\n` +
      "It needs the npm registry to install the platform's packages, and a platform the `sst` " +
      "package ships a binary for (linux/darwin/win32, x64/arm64)."
    );
  }
  return undefined;
}

acquireLock();
let problem;
try {
  // Another run may have finished the install while this one waited for the lock.
  problem = !force && isUpToDate() ? undefined : install();
} finally {
  rmSync(lockDir, { recursive: true, force: true });
}
if (problem) fail(problem);
console.log("sst-types: .sst/platform is ready");
