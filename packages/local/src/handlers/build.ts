import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { type BuildFailure, build, type Plugin } from "esbuild";
import { ToolingError } from "../runner";

/**
 * Bundles handler modules with esbuild: our own code (packages/functions, packages/core) is bundled
 * per handler, as a Lambda bundle would be; installed packages stay external and are imported from
 * their absolute paths, so the bundle can live anywhere (`<stateDir>/build`) and builds stay fast.
 */

const BARE_SPECIFIER = /^[^./]/;

const externalInstalledPackages: Plugin = {
  name: "external-installed-packages",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: BARE_SPECIFIER }, async (args) => {
      if (args.pluginData === "resolving") return undefined;
      const resolved = await pluginBuild.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: "resolving",
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      // Workspace packages resolve (through their symlinks) into the repository: bundle them.
      if (resolved.external || !resolved.path.includes("/node_modules/")) return resolved;
      return { path: resolved.path, external: true };
    });
  },
};

export interface HandlerBuild {
  /** Module name -> bundled file. */
  files: Record<string, string>;
  /** Module names without a source file. */
  missing: string[];
}

/** The handlers do not compile: `message` is esbuild's first error, `path:line:col: text`. */
export class HandlerBuildError extends ToolingError {}

/** `path:line:col: text` of esbuild's first error, paths relative to `root`. */
function describeBuildFailure(failure: BuildFailure, root: string): string {
  const first = failure.errors[0];
  if (!first) return failure.message.split("\n", 1)[0] ?? "build failed";
  const where = first.location
    ? `${relative(root, first.location.file) || first.location.file}:${first.location.line}:${first.location.column}: `
    : "";
  const more = failure.errors.length > 1 ? ` (+${failure.errors.length - 1} more)` : "";
  return `${where}${first.text}${more}`;
}

export function handlerSourcePath(functionsDir: string, name: string): string {
  return join(functionsDir, `${name}.ts`);
}

/** Bundles `functionsDir/<name>.ts` for every name that exists into `outDir/<name>.mjs`. */
export async function buildHandlers(options: {
  functionsDir: string;
  names: readonly string[];
  outDir: string;
  /** For readable error locations. */
  root: string;
}): Promise<HandlerBuild> {
  const entryPoints: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of new Set(options.names)) {
    const source = handlerSourcePath(options.functionsDir, name);
    if (existsSync(source)) entryPoints[name] = source;
    else missing.push(name);
  }
  if (Object.keys(entryPoints).length === 0) return { files: {}, missing };
  try {
    await build({
      entryPoints,
      outdir: options.outDir,
      outExtension: { ".js": ".mjs" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      sourcemap: "inline",
      logLevel: "silent",
      plugins: [externalInstalledPackages],
    });
  } catch (error) {
    if (error && typeof error === "object" && "errors" in error) {
      throw new HandlerBuildError(describeBuildFailure(error as BuildFailure, options.root), { cause: error });
    }
    throw error;
  }
  const files = Object.fromEntries(Object.keys(entryPoints).map((name) => [name, join(options.outDir, `${name}.mjs`)]));
  return { files, missing };
}

/** Bundles the worker entry (node builtins only) to `outFile`. */
export async function buildWorker(entry: string, outFile: string): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
  });
}
