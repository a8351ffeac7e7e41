#!/usr/bin/env node
// `pnpm sst:graph [--stage NAME] [--dev] [--out FILE]`: what `sst deploy --stage NAME` (or `sst dev`
// with --dev) would create, evaluated offline from sst.config.ts with SST's own components under
// Pulumi's mocks. It never touches AWS and is not part of any deploy. With --out it writes the graph as
// JSON ({stage, dev, resources: [{type, name, inputs, options}], functions: [{name, handler, links,
// environment, policy}], …}); without it prints a short summary. Secrets and the copy of the shell's
// environment that SST gives site builds are redacted from both.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import { evaluateGraph, REPO_ROOT } from "./sst-graph/index.mjs";

function fail(message) {
  console.error(`sst-graph: ${message}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const settings = { stage: undefined, dev: false, out: undefined };
for (let index = 0; index < args.length; index += 1) {
  const arg = args[index];
  const value = () => {
    const next = args[index + 1];
    if (next === undefined || next.startsWith("--")) fail(`${arg} needs a value`);
    index += 1;
    return next;
  };
  if (arg === "--stage") settings.stage = value();
  else if (arg === "--out") settings.out = value();
  else if (arg === "--dev") settings.dev = true;
  else fail(`unknown argument "${arg}" (usage: pnpm sst:graph [--stage NAME] [--dev] [--out FILE])`);
}
// As `sst` does: SST_STAGE, else a personal stage named after the user.
const stage = settings.stage ?? process.env.SST_STAGE ?? userInfo().username;
if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(stage)) fail(`"${stage}" is not a valid stage name`);

const types = spawnSync(process.execPath, [join(REPO_ROOT, "scripts/sst-types.mjs")], { stdio: "inherit" });
if (types.status !== 0) fail("the SST platform sources (.sst/platform) could not be generated");

let graph;
try {
  graph = await evaluateGraph({ stage, dev: settings.dev });
} catch (error) {
  fail(error.message);
}
const { log: _log, ...document } = graph;
if (settings.out) {
  const file = resolve(settings.out);
  writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
  console.log(
    `sst-graph: ${document.resources.length} resources, ${document.functions.length} functions for stage "${stage}"${settings.dev ? " (dev)" : ""} -> ${file}`,
  );
} else {
  const custom = document.resources.filter((resource) => resource.options.custom !== false);
  const counts = new Map();
  for (const resource of custom) counts.set(resource.type, (counts.get(resource.type) ?? 0) + 1);
  console.log(
    `Stage "${stage}"${settings.dev ? " in dev mode" : ""}: ${custom.length} AWS resources (offline, Pulumi mocks)`,
  );
  console.log(`  app: removal ${document.app.removal}, protect ${document.app.protect}`);
  for (const [type, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${String(count).padStart(3)}  ${type}`);
  }
  console.log("Functions:");
  for (const fn of document.functions) {
    const actions = [...new Set(fn.policy.flatMap((statement) => [statement.Action ?? []].flat()))];
    console.log(`  ${fn.name}: ${fn.handler} links [${fn.links.join(", ")}] grants [${actions.join(", ")}]`);
  }
}
