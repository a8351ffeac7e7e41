import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  AUTHORIZER_ENV,
  CONNECTIONS_TABLE,
  LOCAL,
  RESOURCE,
  ROUTE,
  ROUTE_SELECTION_EXPRESSION,
  SUBPROTOCOL,
  TOKEN_QUERY_PARAM,
} from "@wsauth/core/constants";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// What is tested locally must be what deploys: infra, the local stack and the handlers take table
// names, keys, routes, the subprotocol and ports from @wsauth/core/constants. This scans their source
// (with the TypeScript parser, so comments never count) for those values written out by hand.

const root = resolve(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name) && !/\.(test|d)\.tsx?$/.test(entry.name)) files.push(path);
  }
  return files;
}

/** String values that must only be written in core constants. */
const SHARED_STRINGS = new Set<string>([
  ...Object.values(RESOURCE),
  LOCAL.tableName,
  // The primary key names ("pk", "sk") are too common to scan for; the index and TTL names are not.
  CONNECTIONS_TABLE.globalIndexes.byUser.hashKey,
  CONNECTIONS_TABLE.globalIndexes.byUser.rangeKey,
  CONNECTIONS_TABLE.ttl,
  // Route keys; "ping" is left out on purpose: WebSocket libraries have a "ping" event of their own.
  ...Object.values(ROUTE).filter((route) => route !== ROUTE.ping),
  ROUTE_SELECTION_EXPRESSION,
  SUBPROTOCOL,
  TOKEN_QUERY_PARAM,
  ...Object.values(AUTHORIZER_ENV),
]);

const SHARED_PORTS = new Set<number>(Object.values(LOCAL.ports));

interface Finding {
  file: string;
  line: number;
  text: string;
}

function findHandWrittenConstants(file: string): Finding[] {
  const text = readFileSync(join(root, file), "utf8");
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const findings: Finding[] = [];
  const report = (node: ts.Node) => {
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    findings.push({ file, line, text: node.getText(source) });
  };

  const visit = (node: ts.Node) => {
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
      const value = node.text;
      // Module specifiers are paths, not values.
      const isImport = ts.isImportDeclaration(node.parent) || ts.isExportDeclaration(node.parent);
      if (!isImport && SHARED_STRINGS.has(value)) report(node);
      // A default port inside a URL, e.g. "http://127.0.0.1:3001".
      for (const port of SHARED_PORTS) if (new RegExp(`:${port}(?!\\d)`).test(value)) report(node);
    }
    if (ts.isNumericLiteral(node) && SHARED_PORTS.has(Number(node.text))) {
      // Only numbers used as ports: `port: 3001`, `const gatewayPort = 3001`, `listen(3001)`.
      const parent = node.parent;
      const name =
        (ts.isPropertyAssignment(parent) || ts.isVariableDeclaration(parent) || ts.isParameter(parent)) &&
        parent.name.getText(source);
      const call = ts.isCallExpression(parent) && parent.expression.getText(source);
      if ((name && /port/i.test(name)) || (call && /listen/i.test(call))) report(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return findings;
}

describe("one source of truth for shared constants", () => {
  const scanned = ["infra", "packages/local/src", "packages/functions/src"].flatMap(sourceFiles);

  it("scans the infra, local stack and handler sources", () => {
    expect(scanned.some((file) => file.startsWith("infra/"))).toBe(true);
    expect(scanned.length).toBeGreaterThan(3);
  });

  it("has no table names, keys, routes, subprotocol or ports written out by hand", () => {
    const findings = scanned.flatMap(findHandWrittenConstants);
    const report = findings.map((f) => `${f.file}:${f.line} ${f.text} -> import it from @wsauth/core/constants`);
    expect(report).toEqual([]);
  });

  it("names every deployed resource through RESOURCE from core constants", () => {
    for (const file of ["infra/auth.ts", "infra/storage.ts", "infra/realtime.ts", "infra/web.ts"]) {
      const text = readFileSync(join(root, file), "utf8");
      expect(text, file).toMatch(/from "@wsauth\/core\/constants"/);
      for (const match of text.matchAll(
        /new sst\.aws\.(CognitoUserPool|Dynamo|ApiGatewayWebSocket|Nextjs)\(([^,]+),/g,
      )) {
        expect(match[2], `${file}: ${match[0]}`).toMatch(/^RESOURCE\.\w+$/);
      }
    }
    const auth = readFileSync(join(root, "infra/auth.ts"), "utf8");
    expect(auth).toMatch(/addClient\(RESOURCE\.webClient/);
  });

  it("has linked-resource types (sst-env.d.ts) for every RESOURCE name", () => {
    const declared = readFileSync(join(root, "sst-env.d.ts"), "utf8");
    for (const name of Object.values(RESOURCE)) expect(declared, name).toContain(`"${name}": {`);
  });

  it("routes every route key and nothing else in infra/realtime.ts", () => {
    const text = readFileSync(join(root, "infra/realtime.ts"), "utf8");
    expect(text).toMatch(/Object\.entries\(ROUTE_HANDLERS\)/);
    expect(text).toMatch(/identitySources: \[\.\.\.AUTHORIZER_IDENTITY_SOURCES\]/);
  });
});
