import { existsSync, readdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Test helpers live in test-only entry points (`@wsauth/core/testing`, `@wsauth/local/testing`).
// Production entry points (every other `src/*/index.ts`, and the handler modules) neither re-export a
// fixture, fake or test-only function nor import one: the TypeScript checker resolves every export to
// where it is declared, and the program built from the production entries lists every file they reach.

const root = resolve(import.meta.dirname, "../..");

/** Where test-only code lives: test entry points, suites, harnesses, fakes and fixtures. */
const TEST_ONLY = /(^|\/)(testing|conformance|test)\/|\.test\.tsx?$|(^|\/)[^/]*(fake|fixture|harness)[^/]*\.tsx?$/;

function productionEntries(): string[] {
  const entries: string[] = [];
  for (const name of readdirSync(join(root, "packages"))) {
    const src = join(root, "packages", name, "src");
    for (const entry of readdirSync(src, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== "testing" && existsSync(join(src, entry.name, "index.ts"))) {
        entries.push(join(src, entry.name, "index.ts"));
      } else if (entry.isFile() && /^[a-z-]+\.ts$/.test(entry.name) && !entry.name.endsWith(".test.ts")) {
        entries.push(join(src, entry.name)); // packages/functions exports each handler module ("./*": "./src/*.ts")
      }
    }
  }
  return entries;
}

const testEntries = ["packages/core/src/testing/index.ts", "packages/local/src/testing/index.ts"].map((path) =>
  join(root, path),
);
const entries = productionEntries();
const parsed = ts.getParsedCommandLineOfConfigFile(
  join(root, "tsconfig.json"),
  {},
  {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => {},
  },
);
if (!parsed) throw new Error("tsconfig.json could not be read");
const program = ts.createProgram({ rootNames: [...entries, ...testEntries], options: parsed.options });
const checker = program.getTypeChecker();

const repoPath = (fileName: string) => relative(root, fileName);

/** Each export of an entry point and the files it is declared in. */
function exportsOf(entry: string): Array<{ name: string; declaredIn: string[] }> {
  const source = program.getSourceFile(entry);
  const symbol = source && checker.getSymbolAtLocation(source);
  if (!symbol) return [];
  return checker.getExportsOfModule(symbol).map((exported) => {
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    return {
      name: exported.name,
      declaredIn: (target.declarations ?? []).map((declaration) => repoPath(declaration.getSourceFile().fileName)),
    };
  });
}

/** The repository files a set of entry points reaches through their imports. */
function reachedFrom(roots: string[]): string[] {
  const reached = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (reached.has(file)) continue;
    reached.add(file);
    const source = program.getSourceFile(file);
    if (!source) continue;
    for (const statement of source.statements) {
      const specifier =
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier)) continue;
      const resolved = ts.resolveModuleName(specifier.text, file, parsed?.options ?? {}, ts.sys).resolvedModule;
      if (resolved && !resolved.isExternalLibraryImport && !resolved.resolvedFileName.endsWith(".d.ts")) {
        queue.push(resolved.resolvedFileName);
      }
    }
  }
  return [...reached].map(repoPath);
}

describe("production entry points", () => {
  it("exist for every package", () => {
    expect(entries.map(repoPath)).toEqual(
      expect.arrayContaining([
        "packages/core/src/auth/index.ts",
        "packages/core/src/events/index.ts",
        "packages/local/src/gateway/index.ts",
        "packages/functions/src/authorizer.ts",
      ]),
    );
  });

  it.each(entries.map(repoPath))("%s exports nothing test-only", (entry) => {
    const offending = exportsOf(join(root, entry)).filter(({ declaredIn }) =>
      declaredIn.some((file) => TEST_ONLY.test(file)),
    );
    expect(offending).toEqual([]);
  });

  it("never import test-only code, however indirectly", () => {
    expect(reachedFrom(entries).filter((file) => TEST_ONLY.test(file))).toEqual([]);
  });

  it("are told apart from the test-only entry points (the check sees what it looks for)", () => {
    const testExports = testEntries.flatMap((entry) => exportsOf(entry));
    expect(testExports.find(({ name }) => name === "buildConnectAuthorizerEvent")?.declaredIn).toEqual([
      "packages/core/src/testing/events.ts",
    ]);
    expect(reachedFrom(testEntries).filter((file) => TEST_ONLY.test(file)).length).toBeGreaterThan(0);
  });
});
