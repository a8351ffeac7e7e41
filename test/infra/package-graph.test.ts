import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// The packages form a declared, acyclic graph: a package imports only what its package.json declares
// (workspace packages through their `exports`, never their `src/`), relative imports stay inside the
// package, and no chain of workspace imports (tests included) leads back to where it started.

const root = resolve(import.meta.dirname, "../..");

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));

const PACKAGE_DIRS = [...readdirSync(join(root, "packages")).map((name) => `packages/${name}`), "web"];
const rootManifest = readManifest(".");
const packages = new Map(PACKAGE_DIRS.map((dir) => [readManifest(dir).name, { dir, manifest: readManifest(dir) }]));

const SOURCE = /\.(ts|tsx|mts|mjs)$/;
const SKIPPED_DIRS = new Set(["node_modules", ".next", ".open-next", "dist"]);

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) files.push(...sourceFiles(path));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Every module specifier a file imports or re-exports (static, dynamic and type imports). */
function importsOf(file: string): Import[] {
  const source = ts.createSourceFile(file, readFileSync(join(root, file), "utf8"), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) {
        const typeOnly = ts.isImportDeclaration(node) ? (node.importClause?.isTypeOnly ?? false) : node.isTypeOnly;
        found.push({ specifier: node.moduleSpecifier.text, typeOnly });
      }
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) found.push({ specifier: literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const BUILTINS = new Set(builtinModules);
const packageNameOf = (specifier: string) =>
  specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : (specifier.split("/")[0] ?? specifier);
const isTestFile = (file: string) => /\.test\.tsx?$/.test(file) || /\/(testing|conformance)\//.test(file);

const declared = (manifest: Manifest) => ({ ...manifest.dependencies, ...manifest.devDependencies });

/** Problems of one package's imports, and the workspace packages it imports. */
function checkPackage(dir: string, manifest: Manifest): { problems: string[]; edges: Set<string> } {
  const problems: string[] = [];
  const edges = new Set<string>();
  const own = declared(manifest);
  const tooling = declared(rootManifest);
  for (const file of sourceFiles(dir)) {
    for (const { specifier, typeOnly } of importsOf(file)) {
      if (specifier.startsWith(".")) {
        const target = relative(join(root, dir), resolve(join(root, dirname(file)), specifier));
        if (target.startsWith("..")) problems.push(`${file}: "${specifier}" reaches outside ${dir}`);
        continue;
      }
      if (specifier.startsWith("node:") || BUILTINS.has(specifier)) continue;
      const name = packageNameOf(specifier);
      if (name === manifest.name) {
        problems.push(`${file}: imports its own package by name ("${specifier}"); use a relative import`);
        continue;
      }
      if (packages.has(name)) {
        edges.add(name);
        if (!(name in own)) problems.push(`${file}: imports ${name}, which ${dir}/package.json does not declare`);
        if (/\/src(\/|$)/.test(specifier)) problems.push(`${file}: "${specifier}" reaches into another package's src/`);
        continue;
      }
      if (name in own) continue;
      // Types come from @types/* (the repository's tooling); tests may use the repository's tooling too.
      const typesPackage = `@types/${name.replace(/^@/, "").replace("/", "__")}`;
      if (typeOnly && (typesPackage in own || typesPackage in tooling)) continue;
      if (isTestFile(file) && name in tooling) continue;
      problems.push(`${file}: imports ${name}, which ${dir}/package.json does not declare`);
    }
  }
  return { problems, edges };
}

const graph = new Map<string, { problems: string[]; edges: Set<string> }>(
  [...packages].map(([name, { dir, manifest }]) => [name, checkPackage(dir, manifest)]),
);

/** A cycle of workspace imports, as a path (`a -> b -> a`), or undefined. */
function findCycle(edges: (name: string) => Iterable<string>): string | undefined {
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (name: string): string | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...path.slice(path.indexOf(name)), name].join(" -> ");
    state.set(name, "visiting");
    path.push(name);
    for (const next of edges(name)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of packages.keys()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("the package graph", () => {
  it.each([...packages.keys()])("%s imports only what it declares, never another package's src/", (name) => {
    expect(graph.get(name)?.problems).toEqual([]);
  });

  it("has no cycle in the imports (tests included) or in the declared dependencies", () => {
    expect(findCycle((name) => graph.get(name)?.edges ?? [])).toBeUndefined();
    const declaredWorkspaceDeps = (name: string) =>
      Object.keys(declared(packages.get(name)?.manifest ?? { name })).filter((dep) => packages.has(dep));
    expect(findCycle(declaredWorkspaceDeps)).toBeUndefined();
  });

  it("finds a cycle and an undeclared import when there is one", () => {
    expect(
      findCycle((name) =>
        name === "@wsauth/core" ? ["@wsauth/local"] : name === "@wsauth/local" ? ["@wsauth/core"] : [],
      ),
    ).toBe("@wsauth/core -> @wsauth/local -> @wsauth/core");
    expect(importsOf("test/infra/package-graph.test.ts").map((entry) => entry.specifier)).toContain("typescript");
  });

  it("lets the site's browser code import core for types only (constants aside: they carry no dependency)", () => {
    const runtimeImports = sourceFiles("web/src")
      .filter((file) => !isTestFile(file))
      .flatMap((file) =>
        importsOf(file)
          .filter(({ specifier, typeOnly }) => specifier.startsWith("@wsauth/core/") && !typeOnly)
          .filter(({ specifier }) => specifier !== "@wsauth/core/constants")
          .map(({ specifier }) => `${file}: ${specifier}`),
      );
    expect(runtimeImports).toEqual([]);
  });

  it("keeps the repository's own suites and benches off the packages' src/", () => {
    const reachIns = ["test", "bench"].flatMap((dir) =>
      sourceFiles(dir).flatMap((file) =>
        importsOf(file)
          .filter(({ specifier }) => /(^|\/)packages\/[^/]+\/src(\/|$)|^@wsauth\/[^/]+\/src(\/|$)/.test(specifier))
          .map(({ specifier }) => `${file}: ${specifier}`),
      ),
    );
    expect(reachIns).toEqual([]);
  });
});
