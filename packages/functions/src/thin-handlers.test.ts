import { readFileSync } from "node:fs";
import { AUTHORIZER_HANDLER, JOB_HANDLERS, ROUTE_HANDLERS } from "@wsauth/core/constants";
import { describe, expect, it } from "vitest";

/**
 * Handlers stay thin: each maps its event to one core call. Logic (validation, identity, DynamoDB,
 * the management API) lives in packages/core, configuration in ./lib/runtime.ts; a handler that
 * grows its own logic or reaches for a client library directly fails here.
 */
const HANDLER_MODULES = [
  ...new Set([...Object.values(ROUTE_HANDLERS), ...Object.values(JOB_HANDLERS), AUTHORIZER_HANDLER]),
];
const MAX_CODE_LINES = 25;
const ALLOWED_IMPORT = /^(@wsauth\/core\/[a-z]+|\.\/lib\/[a-z-]+|aws-lambda|sst)$/;

function codeLines(source: string): string[] {
  const withoutBlockComments = source.replace(/\/\*[\s\S]*?\*\//g, "");
  return withoutBlockComments
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("//"));
}

describe("handlers are thin", () => {
  it.each(HANDLER_MODULES)("%s.ts is a few lines around one core call", (name) => {
    const source = readFileSync(new URL(`./${name}.ts`, import.meta.url), "utf8");
    expect(codeLines(source).length).toBeLessThanOrEqual(MAX_CODE_LINES);
    const imports = [...source.matchAll(/from "([^"]+)"/g)].map((match) => match[1]);
    expect(imports.filter((specifier) => !ALLOWED_IMPORT.test(specifier ?? ""))).toEqual([]);
    expect(source).toMatch(/export (async function handler|function handler|const handler)/);
  });
});
