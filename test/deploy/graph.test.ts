import {
  ABUSE_LIMITS_ENV,
  AUTHORIZER_HANDLER,
  JWKS_SNAPSHOT_ENV,
  ROUTE,
  ROUTE_HANDLERS,
  STAGE_THROTTLE,
  TABLE_ACTIONS,
  TOKEN_POLICY_ENV,
} from "@wsauth/core/constants";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkAbuseLimitEnvironment,
  checkApi,
  checkNarrowIam,
  checkRemoval,
  checkRevocationRule,
  checkStageThrottle,
  checkTokenVerifierEnvironment,
  checkWebClientAuthFlows,
  functionFor,
  type Graph,
  moduleOf,
  resourcesOf,
} from "./checks";
import { deployShell, evaluate, mutableApp, mutated } from "./graph";

// What `sst deploy` would create, for a personal stage (with the optional token policy set in the
// shell, and credentials that must never reach the graph), for production and for `sst dev`; every
// check also runs on a graph with one fact broken (or on infra source with one line changed) and must
// fail there.

const SECRET = "graph-test-secret-value-0123456789";
const TOKEN = "graph-test-session-token-abcdefghij";
const personalShell = deployShell({
  [TOKEN_POLICY_ENV[0]]: "true",
  [TOKEN_POLICY_ENV[1]]: "admins,ops",
  [ABUSE_LIMITS_ENV.maxConnectionsPerUser]: "4",
  [ABUSE_LIMITS_ENV.messageRatePerSecond]: "3",
  [ABUSE_LIMITS_ENV.messageBurst]: "6",
  AWS_ACCESS_KEY_ID: "AKIAGRAPHTEST",
  AWS_SECRET_ACCESS_KEY: SECRET,
  AWS_SESSION_TOKEN: TOKEN,
});
const plainShell = deployShell();

let personal: Graph;
let production: Graph;
let dev: Graph;

beforeAll(async () => {
  [personal, production, dev] = await Promise.all([
    evaluate({ stage: "alice", env: personalShell }),
    evaluate({ stage: "production", env: plainShell }),
    evaluate({ stage: "alice", dev: true, env: plainShell }),
  ]);
}, 180_000);

describe("the deploy graph", () => {
  it("is evaluated offline with SST's RPC calls answered locally", () => {
    for (const graph of [personal, production]) {
      expect(graph.resources.length).toBeGreaterThan(100);
      expect(graph.rpc).toContain("Runtime.Build");
      expect(graph.rpc).toContain("Provider.Aws.Bootstrap");
    }
    // `sst dev` registers each function with the CLI, whose live bridge then runs it on this machine.
    expect(dev.rpc).toContain("Runtime.AddTarget");
    const ours = dev.functions.filter((fn) => moduleOf(fn) !== undefined);
    expect(ours).toHaveLength(Object.keys(TABLE_ACTIONS).length);
    expect(dev.rpc.filter((method) => method === "Runtime.AddTarget").length).toBeGreaterThanOrEqual(ours.length);
  });

  it("has the WebSocket API, its authorizer and one function per route", () => {
    for (const graph of [personal, production, dev]) checkApi(graph);
  });

  it("fails the API check when $connect loses its authorizer or a route its function", () => {
    const connectRoute = (graph: Graph) =>
      resourcesOf(graph, "aws:apigatewayv2/route:Route").find((route) => route.inputs.routeKey === ROUTE.connect);
    expect(() =>
      checkApi(
        mutated(personal, (graph) => {
          const route = connectRoute(graph);
          if (route) route.inputs.authorizationType = "NONE";
        }),
      ),
    ).toThrow("$connect has authorization NONE");
    expect(() =>
      checkApi(
        mutated(personal, (graph) => {
          graph.resources = graph.resources.filter(
            (r) => !(r.type === "aws:apigatewayv2/route:Route" && r.inputs.routeKey === ROUTE.whoami),
          );
        }),
      ),
    ).toThrow("routes are [");
    expect(() =>
      checkApi(
        mutated(personal, (graph) => {
          const authorizer = resourcesOf(graph, "aws:apigatewayv2/authorizer:Authorizer")[0];
          if (authorizer) authorizer.inputs.identitySources = ["route.request.querystring.idToken"];
        }),
      ),
    ).toThrow("authorizer identity sources");
  });

  it("fails the API check when infra/realtime.ts stops putting the authorizer on $connect", async () => {
    const app = mutableApp();
    try {
      app.edit("infra/realtime.ts", "{ auth: { lambda: authorizer.id } }", "{}");
      const graph = await evaluate({ stage: "alice", env: plainShell, root: app.root });
      expect(() => checkApi(graph)).toThrow("$connect has authorization NONE");
    } finally {
      app.remove();
    }
  }, 120_000);

  it("keeps and protects production's table and user pool; other stages are removed completely", () => {
    for (const graph of [personal, production, dev]) checkRemoval(graph);
    expect(() =>
      checkRemoval(
        mutated(production, (graph) => {
          const [pool] = resourcesOf(graph, "aws:cognito/userPool:UserPool");
          if (pool) pool.options.retainOnDelete = false;
        }),
      ),
    ).toThrow("production's aws:cognito/userPool:UserPool is not retained on delete");
    expect(() =>
      checkRemoval(
        mutated(personal, (graph) => {
          const [table] = resourcesOf(graph, "aws:dynamodb/table:Table");
          if (table) table.options.protect = true;
        }),
      ),
    ).toThrow("stage alice keeps aws:dynamodb/table:Table");
  });

  it("lets the deployed app client sign in with SRP and refresh only, never with a plain password", () => {
    for (const graph of [personal, production, dev]) checkWebClientAuthFlows(graph);
    const granting = (flow: string) =>
      mutated(production, (graph) => {
        const [client] = resourcesOf(graph, "aws:cognito/userPoolClient:UserPoolClient");
        if (client) client.inputs.explicitAuthFlows = [...(client.inputs.explicitAuthFlows as string[]), flow];
      });
    expect(() => checkWebClientAuthFlows(granting("ALLOW_USER_PASSWORD_AUTH"))).toThrow(
      "the deployed app client allows ALLOW_USER_PASSWORD_AUTH",
    );
    expect(() => checkWebClientAuthFlows(granting("ADMIN_NO_SRP_AUTH"))).toThrow("allows ADMIN_NO_SRP_AUTH");
    expect(() => checkWebClientAuthFlows(granting("ALLOW_CUSTOM_AUTH"))).toThrow("not [");
    const implicit = mutated(production, (graph) => {
      const [client] = resourcesOf(graph, "aws:cognito/userPoolClient:UserPoolClient");
      if (client)
        Object.assign(client.inputs, { allowedOauthFlowsUserPoolClient: true, allowedOauthFlows: ["implicit"] });
    });
    expect(() => checkWebClientAuthFlows(implicit)).toThrow('allows OAuth flows ["implicit"]');
  });

  it("fails the app client check when infra/auth.ts grants USER_PASSWORD_AUTH again", async () => {
    const app = mutableApp();
    try {
      app.edit(
        "infra/auth.ts",
        "args.explicitAuthFlows = [...WEB_CLIENT_AUTH_FLOWS.deployed];",
        'args.explicitAuthFlows = [...WEB_CLIENT_AUTH_FLOWS.deployed, "ALLOW_USER_PASSWORD_AUTH"];',
      );
      const graph = await evaluate({ stage: "production", env: plainShell, root: app.root });
      expect(() => checkWebClientAuthFlows(graph)).toThrow("allows ALLOW_USER_PASSWORD_AUTH");
    } finally {
      app.remove();
    }
  }, 120_000);

  it("gives the token verifiers the JWKS snapshot and the WSAUTH_* settings of the deploying shell", () => {
    checkTokenVerifierEnvironment(personal, personalShell);
    checkTokenVerifierEnvironment(production, plainShell);
    expect(functionFor(personal, AUTHORIZER_HANDLER).environment[TOKEN_POLICY_ENV[1]]).toBe("admins,ops");
    expect(() =>
      checkTokenVerifierEnvironment(
        mutated(personal, (graph) => {
          delete functionFor(graph, AUTHORIZER_HANDLER).environment[JWKS_SNAPSHOT_ENV];
        }),
        personalShell,
      ),
    ).toThrow("does not carry the pool's JWKS snapshot");
    expect(() =>
      checkTokenVerifierEnvironment(
        mutated(personal, (graph) => {
          delete functionFor(graph, ROUTE_HANDLERS.reauth).environment[TOKEN_POLICY_ENV[0]];
        }),
        personalShell,
      ),
    ).toThrow(`has ${TOKEN_POLICY_ENV[0]}=undefined, expected true`);
    // The same graph checked against a shell without the settings: they must not appear from nowhere.
    expect(() => checkTokenVerifierEnvironment(personal, plainShell)).toThrow(`expected undefined`);
  });

  it("throttles every route of the stage with the values of STAGE_THROTTLE", () => {
    for (const graph of [personal, production, dev]) checkStageThrottle(graph);
    const stageOf = (graph: Graph) => resourcesOf(graph, "aws:apigatewayv2/stage:Stage")[0];
    expect(() =>
      checkStageThrottle(
        mutated(personal, (graph) => {
          const settings = stageOf(graph)?.inputs.defaultRouteSettings as Record<string, number>;
          settings.throttlingBurstLimit = STAGE_THROTTLE.default.burstLimit + 1;
        }),
      ),
    ).toThrow("default route throttle");
    expect(() =>
      checkStageThrottle(
        mutated(personal, (graph) => {
          const stage = stageOf(graph);
          if (stage) stage.inputs.routeSettings = [{ routeKey: ROUTE.whoami, throttlingRateLimit: 1 }];
        }),
      ),
    ).toThrow("route settings");
  });

  it("fails the stage throttle check when infra/realtime.ts stops setting the stage's throttle", async () => {
    const app = mutableApp();
    try {
      app.edit("infra/realtime.ts", "args.defaultRouteSettings = {", "args.defaultRouteSettings = undefined && {");
      const graph = await evaluate({ stage: "alice", env: plainShell, root: app.root });
      expect(() => checkStageThrottle(graph)).toThrow("default route throttle is undefined");
    } finally {
      app.remove();
    }
  }, 120_000);

  it("gives $connect and the rate-limited routes the abuse limits of the deploying shell, and no other function", () => {
    checkAbuseLimitEnvironment(personal, personalShell);
    checkAbuseLimitEnvironment(production, plainShell);
    expect(functionFor(personal, ROUTE_HANDLERS.$connect).environment[ABUSE_LIMITS_ENV.maxConnectionsPerUser]).toBe(
      "4",
    );
    expect(() => checkAbuseLimitEnvironment(personal, plainShell)).toThrow("expected undefined");
    expect(() =>
      checkAbuseLimitEnvironment(
        mutated(personal, (graph) => {
          functionFor(graph, ROUTE_HANDLERS.whoami).environment[ABUSE_LIMITS_ENV.messageBurst] = "6";
        }),
        personalShell,
      ),
    ).toThrow("expected undefined");
  });

  it("grants no wildcard, scan or batch action, and each function exactly its table actions", () => {
    for (const graph of [personal, production, dev]) checkNarrowIam(graph);
    expect(() =>
      checkNarrowIam(
        mutated(personal, (graph) => {
          const role = resourcesOf(graph, "aws:iam/role:Role").find((r) => r.name.includes("Sweep"));
          const policies = role?.inputs.inlinePolicies as Array<{ policy: string }>;
          const document = JSON.parse(policies[0]?.policy ?? "{}");
          document.Statement[0].Action.push("dynamodb:Scan");
          if (policies[0]) policies[0].policy = JSON.stringify(document);
        }),
      ),
    ).toThrow("grants dynamodb:Scan");
    expect(() =>
      checkNarrowIam(
        mutated(personal, (graph) => {
          const statement = functionFor(graph, ROUTE_HANDLERS.whoami).policy[0];
          if (statement) statement.Action = [...[statement.Action ?? []].flat(), "dynamodb:PutItem"];
        }),
      ),
    ).toThrow("TABLE_ACTIONS says");
  });

  it("sends Cognito admin actions of this pool to Revoke, which EventBridge may invoke from that rule only", () => {
    for (const graph of [personal, production, dev]) checkRevocationRule(graph);
    const rule = (graph: Graph) => resourcesOf(graph, "aws:cloudwatch/eventRule:EventRule")[0];
    expect(() =>
      checkRevocationRule(
        mutated(personal, (graph) => {
          const found = rule(graph);
          if (found) found.inputs.eventPattern = String(found.inputs.eventPattern).replace(',"AdminDeleteUser"', "");
        }),
      ),
    ).toThrow("the rule matches");
    expect(() =>
      checkRevocationRule(
        mutated(personal, (graph) => {
          const found = rule(graph);
          if (found)
            found.inputs.eventPattern = String(found.inputs.eventPattern).replace(
              /us-east-1_[0-9a-z]+/,
              "us-east-1_other",
            );
        }),
      ),
    ).toThrow("the rule matches");
    expect(() =>
      checkRevocationRule(
        mutated(personal, (graph) => {
          const [target] = resourcesOf(graph, "aws:cloudwatch/eventTarget:EventTarget");
          if (target) target.inputs.arn = String(target.inputs.arn).replace("Revoke", "Notify");
        }),
      ),
    ).toThrow("the rule's targets");
    expect(() =>
      checkRevocationRule(
        mutated(personal, (graph) => {
          const permission = resourcesOf(graph, "aws:lambda/permission:Permission").find(
            (candidate) => candidate.inputs.principal === "events.amazonaws.com",
          );
          if (permission) delete permission.inputs.sourceArn;
        }),
      ),
    ).toThrow("from the rule only");
  });

  it("writes no credential, secret or copy of the deploying shell", () => {
    const text = JSON.stringify(personal);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN);
    const [builder] = resourcesOf(personal, "command:local:Command");
    const environment = builder?.inputs.environment as Record<string, string>;
    expect(Object.keys(environment)).toContain("NEXT_PUBLIC_USER_POOL_ID");
    expect(environment.PATH).toBeUndefined();
    expect(environment.HOME).toBeUndefined();
    expect(functionFor(personal, AUTHORIZER_HANDLER).environment.SST_KEY).toBe("[redacted]");
  });
});
