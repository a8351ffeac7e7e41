import {
  ABUSE_LIMITS_ENV,
  AUTHORIZER_HANDLER,
  AUTHORIZER_IDENTITY_SOURCES,
  CONNECTIONS_TABLE,
  JOB_HANDLERS,
  JWKS_SNAPSHOT_ENV,
  RATE_LIMITED_ROUTES,
  REVOCATION,
  ROUTE,
  ROUTE_HANDLERS,
  ROUTE_SELECTION_EXPRESSION,
  type RouteKey,
  STAGE_THROTTLE,
  TABLE_ACTIONS,
  TOKEN_POLICY_ENV,
  WEB_CLIENT_AUTH_FLOWS,
} from "@wsauth/core/constants";

/**
 * Assertions on the deploy graph (`pnpm sst:graph`). Each throws an Error naming what is wrong, so the
 * tests can run them on the real graph and, as mutation proofs, on a graph with one fact changed.
 */

export interface GraphResource {
  type: string;
  name: string;
  id: string;
  arn?: string;
  inputs: Record<string, unknown> & { name?: string };
  options: { protect: boolean; retainOnDelete: boolean; parent?: string; custom?: boolean; dependsOn?: string[] };
}
export interface IamStatement {
  Effect: string;
  Action?: string | string[];
  Resource?: string | string[];
}
export interface GraphFunction {
  name: string;
  physicalName?: string;
  handler: string;
  bundle?: string;
  links: string[];
  environment: Record<string, string>;
  policy: IamStatement[];
}
export interface Graph {
  stage: string;
  dev: boolean;
  region: string;
  app: { name: string; removal: string; protect: boolean };
  jwks: { keys: unknown[] };
  rpc: string[];
  resources: GraphResource[];
  functions: GraphFunction[];
}

const HANDLER_DIR = "packages/functions/src";

function fail(message: string): never {
  throw new Error(message);
}

export const resourcesOf = (graph: Graph, type: string) => graph.resources.filter((r) => r.type === type);
const list = (value: string | string[] | undefined) => (value === undefined ? [] : [value].flat());

/** The function whose handler is `packages/functions/src/<module>.handler` (exactly one). */
export function functionFor(graph: Graph, module: string): GraphFunction {
  const matches = graph.functions.filter((fn) => fn.handler === `${HANDLER_DIR}/${module}.handler`);
  if (matches.length !== 1) fail(`expected one function for handler module "${module}", found ${matches.length}`);
  return matches[0] as GraphFunction;
}

/** Handler module of one of our functions (`undefined` for SST's own, e.g. the site's). */
export function moduleOf(fn: GraphFunction): string | undefined {
  const match = new RegExp(`^${HANDLER_DIR}/([^/]+)\\.handler$`).exec(fn.handler);
  return match?.[1];
}

/** The WebSocket API: protocol, route selection, one REQUEST authorizer on `$connect`, one function per route. */
export function checkApi(graph: Graph): void {
  const apis = resourcesOf(graph, "aws:apigatewayv2/api:Api");
  if (apis.length !== 1) fail(`expected one API, found ${apis.length}`);
  const api = apis[0] as GraphResource;
  if (api.inputs.protocolType !== "WEBSOCKET") fail(`API protocol is ${String(api.inputs.protocolType)}`);
  if (api.inputs.routeSelectionExpression !== ROUTE_SELECTION_EXPRESSION) {
    fail(`route selection is ${String(api.inputs.routeSelectionExpression)}, not ${ROUTE_SELECTION_EXPRESSION}`);
  }

  const authorizers = resourcesOf(graph, "aws:apigatewayv2/authorizer:Authorizer");
  if (authorizers.length !== 1) fail(`expected one authorizer, found ${authorizers.length}`);
  const authorizer = authorizers[0] as GraphResource;
  if (authorizer.inputs.authorizerType !== "REQUEST")
    fail(`authorizer type is ${String(authorizer.inputs.authorizerType)}`);
  const sources = JSON.stringify(authorizer.inputs.identitySources ?? []);
  if (sources !== JSON.stringify(AUTHORIZER_IDENTITY_SOURCES)) {
    fail(`authorizer identity sources are ${sources}, not ${JSON.stringify(AUTHORIZER_IDENTITY_SOURCES)}`);
  }
  const authorizerFunction = functionFor(graph, AUTHORIZER_HANDLER);
  if (!String(authorizer.inputs.authorizerUri).includes(`:function:${authorizerFunction.physicalName}/`)) {
    fail("the authorizer does not invoke the authorizer function");
  }

  const routes = resourcesOf(graph, "aws:apigatewayv2/route:Route");
  const routeKeys = routes.map((route) => String(route.inputs.routeKey)).sort();
  const expectedKeys = Object.keys(ROUTE_HANDLERS).sort();
  if (JSON.stringify(routeKeys) !== JSON.stringify(expectedKeys)) {
    fail(`routes are [${routeKeys.join(", ")}], not [${expectedKeys.join(", ")}]`);
  }
  const integrations = resourcesOf(graph, "aws:apigatewayv2/integration:Integration");
  const routeFunctions = new Set<string>();
  for (const route of routes) {
    const routeKey = String(route.inputs.routeKey);
    if (routeKey === ROUTE.connect) {
      if (route.inputs.authorizationType !== "CUSTOM")
        fail(`$connect has authorization ${String(route.inputs.authorizationType)}, not CUSTOM`);
      if (route.inputs.authorizerId !== authorizer.id) fail("$connect does not use the authorizer");
    } else if (route.inputs.authorizationType !== "NONE" || route.inputs.authorizerId !== undefined) {
      fail(`${routeKey} has authorization ${String(route.inputs.authorizationType)}, not NONE`);
    }
    const integration = integrations.find((candidate) => route.inputs.target === `integrations/${candidate.id}`);
    if (!integration) fail(`${routeKey} has no integration`);
    const module = ROUTE_HANDLERS[routeKey as keyof typeof ROUTE_HANDLERS];
    const fn = functionFor(graph, module);
    if (!String(integration.inputs.integrationUri).includes(`:function:${fn.physicalName}/`)) {
      fail(`${routeKey} does not invoke the function of packages/functions/src/${module}.ts`);
    }
    if (routeFunctions.has(fn.name)) fail(`${routeKey} shares its function ${fn.name} with another route`);
    routeFunctions.add(fn.name);
  }
}

/** The deployed table: keys, the by-user index, its projection and TTL, as CONNECTIONS_TABLE declares them. */
export interface TableShape {
  hashKey: string;
  rangeKey: string;
  attributes: Record<string, string>;
  indexes: Record<string, { hashKey: string; rangeKey: string; projection: string }>;
  ttl: string | undefined;
}

export function tableOf(graph: Graph): TableShape {
  const tables = resourcesOf(graph, "aws:dynamodb/table:Table");
  if (tables.length !== 1) fail(`expected one DynamoDB table, found ${tables.length}`);
  const { inputs } = tables[0] as GraphResource;
  const attributes = inputs.attributes as Array<{ name: string; type: string }>;
  const indexes = inputs.globalSecondaryIndexes as Array<{
    name: string;
    hashKey: string;
    rangeKey: string;
    projectionType: string;
  }>;
  const ttl = inputs.ttl as { attributeName: string; enabled: boolean } | undefined;
  return {
    hashKey: String(inputs.hashKey),
    rangeKey: String(inputs.rangeKey),
    attributes: Object.fromEntries(attributes.map((a) => [a.name, a.type])),
    indexes: Object.fromEntries(
      indexes.map((index) => [
        index.name,
        { hashKey: index.hashKey, rangeKey: index.rangeKey, projection: index.projectionType },
      ]),
    ),
    ttl: ttl?.enabled ? ttl.attributeName : undefined,
  };
}

/** CONNECTIONS_TABLE as a TableShape (every index projects all attributes). */
export function declaredTable(): TableShape {
  const { fields, primaryIndex, globalIndexes, ttl } = CONNECTIONS_TABLE;
  return {
    hashKey: primaryIndex.hashKey,
    rangeKey: primaryIndex.rangeKey,
    attributes: Object.fromEntries(Object.entries(fields).map(([name, type]) => [name, type === "string" ? "S" : "N"])),
    indexes: Object.fromEntries(
      Object.entries(globalIndexes).map(([name, index]) => [
        name,
        { hashKey: index.hashKey, rangeKey: index.rangeKey, projection: "ALL" },
      ]),
    ),
    ttl,
  };
}

/** Resources SST retains in every stage: API Gateway's account-wide CloudWatch logging role and setting. */
const ACCOUNT_WIDE_RETAINED = new Set([
  "aws:iam/role:Role::APIGatewayPushToCloudWatchLogsRole",
  "aws:apigateway/account:Account",
]);
const accountWide = (r: GraphResource) =>
  ACCOUNT_WIDE_RETAINED.has(`${r.type}::${r.name}`) || ACCOUNT_WIDE_RETAINED.has(r.type);
/** The stateful resources a protected stage keeps. */
const KEPT_IN_PRODUCTION = ["aws:dynamodb/table:Table", "aws:cognito/userPool:UserPool"];

/** production keeps and protects its data; every other stage is removed completely. */
export function checkRemoval(graph: Graph): void {
  if (graph.stage === "production") {
    if (!graph.app.protect || graph.app.removal !== "retain") fail("production is not protected with removal: retain");
    for (const type of KEPT_IN_PRODUCTION) {
      const [resource] = resourcesOf(graph, type);
      if (!resource) fail(`production has no ${type}`);
      if (!resource.options.retainOnDelete) fail(`production's ${type} is not retained on delete`);
      if (!resource.options.protect) fail(`production's ${type} is not protected`);
    }
    return;
  }
  if (graph.app.protect || graph.app.removal !== "remove") fail(`stage ${graph.stage} is not fully removable`);
  const kept = graph.resources.filter((r) => (r.options.retainOnDelete || r.options.protect) && !accountWide(r));
  if (kept.length > 0)
    fail(`stage ${graph.stage} keeps ${kept.map((r) => `${r.type} ${r.name}`).join(", ")} on removal`);
}

/** Flows that take the password itself (`ADMIN_NO_SRP_AUTH` is the legacy name of the admin one). */
const PASSWORD_FLOWS = ["USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"];

/** The deployed app client signs in with SRP and refreshes, nothing else: no flow that takes a password. */
export function checkWebClientAuthFlows(graph: Graph): void {
  const clients = resourcesOf(graph, "aws:cognito/userPoolClient:UserPoolClient");
  if (clients.length !== 1) fail(`expected one user pool client, found ${clients.length}`);
  const flows = list(clients[0]?.inputs.explicitAuthFlows as string[] | undefined);
  const password = flows.filter((flow) => PASSWORD_FLOWS.includes(flow.replace(/^ALLOW_/, "")));
  if (password.length > 0) fail(`the deployed app client allows ${password.join(", ")}`);
  const expected = [...WEB_CLIENT_AUTH_FLOWS.deployed].sort();
  if (JSON.stringify([...flows].sort()) !== JSON.stringify(expected))
    fail(`the deployed app client allows ${JSON.stringify(flows)}, not ${JSON.stringify(expected)}`);
  // There is no hosted UI, so no OAuth flow either: the implicit grant would put tokens in URLs.
  const oauth = clients[0]?.inputs;
  const oauthFlows = list(oauth?.allowedOauthFlows as string[] | undefined);
  if (oauth?.allowedOauthFlowsUserPoolClient !== false || oauthFlows.length > 0)
    fail(`the deployed app client allows OAuth flows ${JSON.stringify(oauthFlows)}`);
}

/** Handler modules that verify tokens and so get the JWKS snapshot and the token policy. */
export const TOKEN_VERIFIERS = [AUTHORIZER_HANDLER, ROUTE_HANDLERS.reauth, ROUTE_HANDLERS.revoke];

/**
 * The token verifiers carry the pool's JWKS snapshot, and exactly the WSAUTH_* settings present in
 * `shellEnv`; no other function gets either.
 */
export function checkTokenVerifierEnvironment(graph: Graph, shellEnv: Record<string, string | undefined>): void {
  const expectedJwks = JSON.stringify({ keys: graph.jwks.keys });
  for (const fn of graph.functions) {
    const module = moduleOf(fn);
    const verifier = module !== undefined && TOKEN_VERIFIERS.includes(module);
    const jwks = fn.environment[JWKS_SNAPSHOT_ENV];
    if (verifier && jwks !== expectedJwks) fail(`${fn.name} does not carry the pool's JWKS snapshot`);
    if (!verifier && jwks !== undefined) fail(`${fn.name} carries a JWKS snapshot it does not need`);
    for (const name of TOKEN_POLICY_ENV) {
      const expected = verifier ? shellEnv[name] || undefined : undefined;
      if (fn.environment[name] !== expected) {
        fail(`${fn.name} has ${name}=${String(fn.environment[name])}, expected ${String(expected)}`);
      }
    }
  }
}

/**
 * The stage throttles as STAGE_THROTTLE declares them: its default route settings (a bucket of that
 * size and rate for every route), and no per-route settings (see STAGE_THROTTLE for why).
 */
export function checkStageThrottle(graph: Graph): void {
  const stages = resourcesOf(graph, "aws:apigatewayv2/stage:Stage");
  if (stages.length !== 1) fail(`expected one stage, found ${stages.length}`);
  const stage = stages[0] as GraphResource;
  const defaults = stage.inputs.defaultRouteSettings as Record<string, unknown> | undefined;
  const expected = STAGE_THROTTLE.default;
  if (defaults?.throttlingRateLimit !== expected.rateLimit || defaults?.throttlingBurstLimit !== expected.burstLimit) {
    fail(`the stage's default route throttle is ${JSON.stringify(defaults)}, not ${JSON.stringify(expected)}`);
  }
  const routeSettings = (stage.inputs.routeSettings as unknown[] | undefined) ?? [];
  if (routeSettings.length > 0) fail(`the stage has route settings ${JSON.stringify(routeSettings)}`);
}

/**
 * The abuse limits of the deploying shell reach the functions that enforce them, and no others:
 * `$connect` the connection cap, the rate-limited routes the frame rate.
 */
export function checkAbuseLimitEnvironment(graph: Graph, shellEnv: Record<string, string | undefined>): void {
  const frameSettings = [ABUSE_LIMITS_ENV.messageRatePerSecond, ABUSE_LIMITS_ENV.messageBurst];
  for (const fn of graph.functions) {
    const module = moduleOf(fn);
    if (module === undefined) continue;
    const routeKey = Object.entries(ROUTE_HANDLERS).find(([, name]) => name === module)?.[0];
    const wanted = new Set<string>(
      routeKey === ROUTE.connect
        ? [ABUSE_LIMITS_ENV.maxConnectionsPerUser]
        : RATE_LIMITED_ROUTES.includes(routeKey as RouteKey)
          ? frameSettings
          : [],
    );
    for (const name of Object.values(ABUSE_LIMITS_ENV)) {
      const expected = wanted.has(name) ? shellEnv[name] || undefined : undefined;
      if (fn.environment[name] !== expected) {
        fail(`${fn.name} has ${name}=${String(fn.environment[name])}, expected ${String(expected)}`);
      }
    }
  }
}

/** Statements SST adds to every role in dev mode for its live bridge (AppSync events, its asset bucket). */
function isDevBridgeStatement(graph: Graph, statement: IamStatement): boolean {
  if (!graph.dev) return false;
  const actions = list(statement.Action);
  return actions.length === 1 && (actions[0] === "appsync:*" || actions[0] === "s3:*");
}

/** Every (Allow) action a role grants, from every role in the graph. */
function grantedActions(graph: Graph): Array<{ role: string; action: string }> {
  return resourcesOf(graph, "aws:iam/role:Role").flatMap((role) =>
    ((role.inputs.inlinePolicies as Array<{ policy: string }> | undefined) ?? []).flatMap((inline) =>
      ((JSON.parse(inline.policy) as { Statement?: IamStatement[] }).Statement ?? [])
        .filter((statement) => statement.Effect === "Allow" && !isDevBridgeStatement(graph, statement))
        .flatMap((statement) => list(statement.Action).map((action) => ({ role: role.name, action }))),
    ),
  );
}

/**
 * Modules whose code records something new, the only ones that may create rows: `connect` puts the
 * connection and sign-in name rows, `subscribe` the subscription row, `publish` and `notify` (a
 * publish to a channel) the event's history row, `revoke` and `Revoke` a user's revocation record. Every other function only reads, updates or deletes.
 */
export const ROW_WRITERS: readonly string[] = [
  ROUTE_HANDLERS.$connect,
  ROUTE_HANDLERS.subscribe,
  ROUTE_HANDLERS.publish,
  JOB_HANDLERS.notify,
  // the user's revocation record
  ROUTE_HANDLERS.revoke,
  JOB_HANDLERS.revoke,
];

/**
 * IAM is narrow: no role anywhere grants `*`, `dynamodb:*`, a scan or a batch action; each of our
 * functions is granted exactly its TABLE_ACTIONS on the table, and only row writers (connections, subscriptions,
 * history) can PutItem.
 */
export function checkNarrowIam(graph: Graph): void {
  for (const { role, action } of grantedActions(graph)) {
    if (
      action === "*" ||
      action === "dynamodb:*" ||
      action === "dynamodb:Scan" ||
      action.startsWith("dynamodb:Batch")
    ) {
      fail(`role ${role} grants ${action}`);
    }
  }
  for (const fn of graph.functions) {
    const module = moduleOf(fn);
    if (module === undefined) continue;
    const statements = fn.policy.filter((statement) => !isDevBridgeStatement(graph, statement));
    const tableActions = statements.flatMap((s) => list(s.Action)).filter((a) => a.startsWith("dynamodb:"));
    const expected = TABLE_ACTIONS[module] ?? [];
    if (JSON.stringify([...tableActions].sort()) !== JSON.stringify([...expected].sort())) {
      fail(`${fn.name} is granted [${tableActions.join(", ")}], TABLE_ACTIONS says [${expected.join(", ")}]`);
    }
    if (tableActions.includes("dynamodb:PutItem") && !ROW_WRITERS.includes(module)) {
      fail(`${fn.name} can PutItem but records no connection, subscription or event`);
    }
  }
}

/** IAM's wildcard match (`*` any run of characters, `?` one), case-sensitive as for ARNs. */
export function iamMatches(pattern: string, value: string): boolean {
  const regex = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replaceAll("*", ".*")
      .replaceAll("?", ".")}$`,
  );
  return regex.test(value);
}

/** True when `fn`'s policy allows `action` on `resourceArn`. */
export function allows(fn: GraphFunction, action: string, resourceArn: string): boolean {
  return fn.policy.some(
    (statement) =>
      statement.Effect === "Allow" &&
      list(statement.Action).some((pattern) => iamMatches(pattern, action)) &&
      list(statement.Resource).some((pattern) => iamMatches(pattern, resourceArn)),
  );
}

/**
 * Cognito admin actions revoke: an EventBridge rule on CloudTrail's API-call events of exactly the
 * REVOCATION.cognitoAdminEvents of this app's user pool, targeting the `Revoke` function, which lets
 * EventBridge invoke it from that rule only.
 */
export function checkRevocationRule(graph: Graph): void {
  const revoke = functionFor(graph, JOB_HANDLERS.revoke);
  const [pool] = resourcesOf(graph, "aws:cognito/userPool:UserPool");
  const rules = resourcesOf(graph, "aws:cloudwatch/eventRule:EventRule");
  if (rules.length !== 1 || !rules[0]) fail(`expected one EventBridge rule, found ${rules.length}`);
  const rule = rules[0];
  const pattern = JSON.parse(String(rule.inputs.eventPattern)) as {
    source?: string[];
    "detail-type"?: string[];
    detail?: { eventSource?: string[]; eventName?: string[]; requestParameters?: { userPoolId?: string[] } };
  };
  const expected = {
    source: [REVOCATION.cloudTrail.source],
    "detail-type": [REVOCATION.cloudTrail.detailType],
    detail: {
      eventSource: [REVOCATION.cloudTrail.eventSource],
      eventName: [...REVOCATION.cognitoAdminEvents].sort(),
      requestParameters: { userPoolId: [pool?.id] },
    },
  };
  const actual = {
    ...pattern,
    detail: { ...pattern.detail, eventName: [...(pattern.detail?.eventName ?? [])].sort() },
  };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    fail(`the rule matches ${JSON.stringify(actual)}, not ${JSON.stringify(expected)}`);
  }
  const ruleName = rule.inputs.name ?? rule.id;
  const targets = resourcesOf(graph, "aws:cloudwatch/eventTarget:EventTarget").filter(
    (target) => target.inputs.rule === ruleName,
  );
  const revokeArn = `arn:aws:lambda:${graph.region}:123456789012:function:${revoke.physicalName}`;
  if (targets.length !== 1 || targets[0]?.inputs.arn !== revokeArn) {
    fail(`the rule's targets are [${targets.map((target) => target.inputs.arn).join(", ")}], not ${revokeArn}`);
  }
  const permissions = resourcesOf(graph, "aws:lambda/permission:Permission").filter(
    (permission) => permission.inputs.principal === "events.amazonaws.com",
  );
  const allowed = permissions.filter(
    (permission) =>
      permission.inputs.action === "lambda:InvokeFunction" &&
      [revoke.physicalName, revokeArn].includes(String(permission.inputs.function)) &&
      permission.inputs.sourceArn === rule.arn,
  );
  if (permissions.length !== 1 || allowed.length !== 1) {
    fail("EventBridge may invoke Revoke from the rule only (one permission, with the rule as source)");
  }
}
