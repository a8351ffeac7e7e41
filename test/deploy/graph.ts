import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Graph } from "./checks";

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, "../..");

interface EvaluateOptions {
  stage: string;
  dev?: boolean;
  /** "real": read the site build in web/ instead of a placeholder (after an OpenNext build). */
  siteBuild?: "placeholder" | "real";
  env?: Record<string, string | undefined>;
  root?: string;
}

let platformReady = false;

/**
 * `.sst/platform` (SST's component sources), generated offline by scripts/sst-types.mjs when missing
 * (npm downloads, once); fast when it is already there.
 */
export function ensurePlatform(): void {
  if (platformReady) return;
  const result = spawnSync(process.execPath, [join(ROOT, "scripts/sst-types.mjs")], { cwd: ROOT, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`offline SST type generation failed:\n${result.stdout}${result.stderr}`);
  platformReady = true;
}

/** `pnpm sst:graph`'s evaluation (scripts/sst-graph), in its own child process. */
export async function evaluate(options: EvaluateOptions): Promise<Graph> {
  ensurePlatform();
  const { evaluateGraph } = (await import(join(ROOT, "scripts/sst-graph/index.mjs"))) as {
    evaluateGraph(options: EvaluateOptions): Promise<Graph>;
  };
  return evaluateGraph(options);
}

/**
 * A copy of the app whose `sst.config.ts` and `infra/` can be edited (everything else links to the
 * repository), for mutation proofs that change the infra source and evaluate it again.
 */
export function mutableApp(): { root: string; edit(file: string, from: string, to: string): void; remove(): void } {
  const root = mkdtempSync(join(tmpdir(), "wsauth-mutant-"));
  for (const entry of readdirSync(ROOT)) {
    if (entry === "infra" || entry === "sst.config.ts")
      cpSync(join(ROOT, entry), join(root, entry), { recursive: true });
    else symlinkSync(join(ROOT, entry), join(root, entry));
  }
  return {
    root,
    edit(file, from, to) {
      const path = join(root, file);
      const source = readFileSync(path, "utf8");
      if (!source.includes(from)) throw new Error(`mutation target not found in ${file}: ${from}`);
      writeFileSync(path, source.replace(from, to));
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A deep copy of `graph` changed by `mutate`. */
export function mutated(graph: Graph, mutate: (copy: Graph) => void): Graph {
  const copy = structuredClone(graph);
  mutate(copy);
  return copy;
}

/** The shell a deploy runs from, minus this machine's AWS and token settings. */
export function deployShell(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("AWS_") || name.startsWith("WSAUTH_")) delete env[name];
  return { ...env, ...extra };
}
