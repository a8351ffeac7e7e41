/**
 * The pure rules API Gateway applies around a WebSocket REQUEST authorizer: identity sources checked
 * before it runs, and how its result (or failure) turns into accept / 401 / 403 / 500.
 */

/** Largest authorizer result API Gateway accepts (quota "Lambda authorizer result size"). */
const MAX_RESULT_BYTES = 8 * 1024;

export type AuthorizerDecision =
  | { outcome: "allow"; principalId: string; context: Readonly<Record<string, string | null>> }
  | { outcome: "unauthorized"; reason: string }
  | { outcome: "forbidden"; reason: string }
  | { outcome: "error"; reason: string };

export interface IdentitySource {
  kind: "header" | "querystring";
  name: string;
  expression: string;
}

const SOURCE_SHAPE = /^route\.request\.(header|querystring)\.(.+)$/;

/** Parses identity source expressions; an unsupported one is a configuration error, thrown at start. */
export function parseIdentitySources(expressions: readonly string[]): IdentitySource[] {
  return expressions.map((expression) => {
    const match = SOURCE_SHAPE.exec(expression);
    if (!match?.[1] || !match[2]) {
      throw new Error(
        `unsupported identity source "${expression}": use route.request.header.<Name> or route.request.querystring.<name>`,
      );
    }
    return { kind: match[1] as IdentitySource["kind"], name: match[2], expression };
  });
}

/**
 * The first identity source that is missing or empty, if any. API Gateway answers 401 without invoking
 * the authorizer in that case. Headers match case-insensitively; query parameters exactly.
 */
export function missingIdentitySource(
  sources: readonly IdentitySource[],
  lowerCaseHeaders: Readonly<Record<string, string | string[] | undefined>>,
  query: URLSearchParams,
): IdentitySource | undefined {
  return sources.find((source) => {
    const value =
      source.kind === "header" ? lowerCaseHeaders[source.name.toLowerCase()] : (query.get(source.name) ?? undefined);
    return value === undefined || value === "" || (Array.isArray(value) && value.every((item) => item === ""));
  });
}

/** A failed authorizer invocation: a thrown "Unauthorized" is a 401, anything else a 500. */
export function decisionForFailure(failure: { reason: "error"; error: unknown } | { reason: "timeout" }) {
  if (failure.reason === "timeout") return { outcome: "error", reason: "authorizer timed out" } as const;
  const message = failure.error instanceof Error ? failure.error.message : failure.error;
  if (message === "Unauthorized") return { outcome: "unauthorized", reason: "authorizer threw Unauthorized" } as const;
  return { outcome: "error", reason: "authorizer failed" } as const;
}

/** Turns what the authorizer returned into a decision for `methodArn`. */
export function decisionForResult(result: unknown, methodArn: string): AuthorizerDecision {
  if (!isRecord(result)) return { outcome: "error", reason: "authorizer returned no object" };
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(result));
  } catch {
    return { outcome: "error", reason: "authorizer result is not serialisable" };
  }
  if (size > MAX_RESULT_BYTES) return { outcome: "error", reason: "authorizer result exceeds 8 KB" };

  const { principalId, policyDocument, context } = result;
  if (typeof principalId !== "string" || principalId === "") {
    return { outcome: "error", reason: "authorizer result has no principalId" };
  }
  const statements = statementsOf(policyDocument);
  if (!statements) return { outcome: "error", reason: "authorizer result has no valid policyDocument" };
  const flatContext = flattenContext(context);
  if (!flatContext) return { outcome: "error", reason: "authorizer context values must be string, number or boolean" };

  const matching = statements.filter((statement) => appliesTo(statement, methodArn));
  if (matching.some((statement) => statement.Effect === "Deny")) {
    return { outcome: "forbidden", reason: "policy denies the method" };
  }
  if (!matching.some((statement) => statement.Effect === "Allow")) {
    return { outcome: "forbidden", reason: "policy does not allow the method" };
  }
  return { outcome: "allow", principalId, context: flatContext };
}

interface Statement {
  Effect: "Allow" | "Deny";
  Action: string[];
  Resource: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const toList = (value: unknown): string[] | undefined => {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
  return undefined;
};

function statementsOf(policyDocument: unknown): Statement[] | undefined {
  if (!isRecord(policyDocument)) return undefined;
  const raw = policyDocument.Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? undefined : [raw];
  if (!list) return undefined;
  const statements: Statement[] = [];
  for (const item of list) {
    if (!isRecord(item)) return undefined;
    const action = toList(item.Action);
    const resource = toList(item.Resource);
    if ((item.Effect !== "Allow" && item.Effect !== "Deny") || !action || !resource) return undefined;
    statements.push({ Effect: item.Effect, Action: action, Resource: resource });
  }
  return statements;
}

function appliesTo(statement: Statement, methodArn: string): boolean {
  const actionMatches = statement.Action.some((action) => wildcardMatch(action.toLowerCase(), "execute-api:invoke"));
  return actionMatches && statement.Resource.some((resource) => arnMatches(resource, methodArn));
}

/**
 * IAM ARN matching: the six colon-separated parts are compared one by one (a wildcard never spans a
 * colon, but may span "/" inside the resource part); "*" alone matches everything.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const patternParts = splitArn(pattern);
  const arnParts = splitArn(arn);
  if (patternParts.length !== arnParts.length) return false;
  return patternParts.every((part, index) => wildcardMatch(part, arnParts[index] ?? ""));
}

function splitArn(arn: string): string[] {
  const parts = arn.split(":");
  // The resource part (6th) may itself contain colons.
  return parts.length > 6 ? [...parts.slice(0, 5), parts.slice(5).join(":")] : parts;
}

/** Glob match with IAM wildcards: `*` any run of characters, `?` exactly one. */
export function wildcardMatch(pattern: string, value: string): boolean {
  let p = 0;
  let v = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (v < value.length) {
    const char = pattern[p];
    if (char === "?" || (char !== undefined && char !== "*" && char === value[v])) {
      p++;
      v++;
    } else if (char === "*") {
      starAt = p++;
      resumeAt = v;
    } else if (starAt >= 0) {
      p = starAt + 1;
      v = ++resumeAt;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/**
 * Validates the context and stringifies its values, as API Gateway hands them to later integrations
 * ("123", "true"). Objects and arrays make the authorizer fail (500); null is passed on as null.
 */
function flattenContext(context: unknown): Record<string, string | null> | undefined {
  if (context === undefined || context === null) return {};
  if (!isRecord(context)) return undefined;
  const flat: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value === undefined) continue;
    if (value === null) flat[key] = null;
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
      flat[key] = String(value);
    } else return undefined;
  }
  return flat;
}
