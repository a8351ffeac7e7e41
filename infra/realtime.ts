import {
  ABUSE_LIMITS_ENV,
  AUTHORIZER_HANDLER,
  AUTHORIZER_IDENTITY_SOURCES,
  FANOUT,
  JOB_HANDLERS,
  JWKS_SNAPSHOT_ENV,
  RATE_LIMITED_ROUTES,
  RESOURCE,
  ROUTE,
  ROUTE_HANDLERS,
  ROUTE_SELECTION_EXPRESSION,
  type RouteKey,
  STAGE_THROTTLE,
  TOKEN_POLICY_ENV,
} from "@wsauth/core/constants";
import { jwksSnapshot, userPool, webClient } from "./auth";
import { handler } from "./functions";
import { table } from "./storage";

/**
 * The optional token policy (accept access tokens, required groups; off by default), taken from the
 * shell that runs `sst deploy` / `sst dev`, as `pnpm local` takes it from its own.
 */
const tokenPolicyEnvironment = fromDeployingShell(TOKEN_POLICY_ENV);

/** The variables of `names` that are set in the shell running `sst deploy` / `sst dev`. */
function fromDeployingShell(names: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = process.env[name];
      return value ? [[name, value]] : [];
    }),
  );
}

/**
 * The abuse limits (ABUSE_LIMITS, overridden from the deploying shell as `pnpm local` takes them from
 * its own): `$connect` enforces connections per user, the rate-limited routes frames per connection.
 */
function abuseLimitEnvironment(routeKey: string): Record<string, string> {
  if (routeKey === ROUTE.connect) return fromDeployingShell([ABUSE_LIMITS_ENV.maxConnectionsPerUser]);
  if (!RATE_LIMITED_ROUTES.includes(routeKey as RouteKey)) return {};
  return fromDeployingShell([ABUSE_LIMITS_ENV.messageRatePerSecond, ABUSE_LIMITS_ENV.messageBurst]);
}

/**
 * Handlers that verify tokens (the authorizer, `reauth`) share one policy and get the pool's signing
 * keys captured at deploy time (when available).
 */
const tokenVerifierEnvironment = jwksSnapshot.apply(
  (snapshot): Record<string, string> => ({
    ...tokenPolicyEnvironment,
    ...(snapshot ? { [JWKS_SNAPSHOT_ENV]: snapshot } : {}),
  }),
);

export const api = new sst.aws.ApiGatewayWebSocket(RESOURCE.api, {
  transform: {
    api: (args) => {
      args.routeSelectionExpression = ROUTE_SELECTION_EXPRESSION;
    },
    // Stage throttling (STAGE_THROTTLE): the global safety valve, a token bucket per route; over it
    // API Gateway answers 429 to an upgrade and a "Too Many Requests" error frame to a message.
    stage: (args) => {
      args.defaultRouteSettings = {
        throttlingRateLimit: STAGE_THROTTLE.default.rateLimit,
        throttlingBurstLimit: STAGE_THROTTLE.default.burstLimit,
      };
    },
  },
});

// REQUEST authorizer on $connect. It needs to know which pool and client issued a token, and reads the
// caller's revocation record in the table (one GetItem, granted by TABLE_ACTIONS.authorizer).
// Identity sources: API Gateway answers 401 without calling the authorizer unless *every* configured
// source is present, but a client sends its token in either the query string or the subprotocol
// header, so the list is empty (allowed for REQUEST authorizers; SST passes an explicit list through
// instead of its default header source). The authorizer rejects a request that carries no token.
const authorizer = api.addAuthorizer("CognitoIdToken", {
  lambda: {
    function: handler(AUTHORIZER_HANDLER, [userPool, webClient, table], { environment: tokenVerifierEnvironment }),
    identitySources: [...AUTHORIZER_IDENTITY_SOURCES],
  },
});

// The fan-out worker: a broadcast to more than FANOUT.inlineMax connections, or a channel event for more
// than FANOUT.inlineMax subscribers, is cut into jobs, each an asynchronous invocation of this function (Lambda queues the event, runs it at least once and retries
// a failed job FANOUT.retries times; a job skips the connections it already sent to). It has no URL;
// only functions linked to it may invoke it.
export const fanOut = new sst.aws.Function(
  RESOURCE.fanOut,
  handler(JOB_HANDLERS.fanout, [table, api], { retries: FANOUT.retries, timeout: "60 seconds" }),
);

for (const [routeKey, module] of Object.entries(ROUTE_HANDLERS)) {
  // Every route handler records or reads connections and may post to them through @connections.
  // `reauth` and `revoke` also verify a token, like the authorizer; `broadcast` and `publish` queue fan-out jobs.
  const limits = abuseLimitEnvironment(routeKey);
  const extra = Object.keys(limits).length > 0 ? { environment: limits } : {};
  const definition =
    routeKey === ROUTE.reauth || routeKey === ROUTE.revoke
      ? handler(module, [table, api, userPool, webClient], { environment: tokenVerifierEnvironment })
      : routeKey === ROUTE.broadcast || routeKey === ROUTE.publish
        ? handler(module, [table, api, fanOut], extra)
        : handler(module, [table, api], extra);
  api.route(routeKey, definition, {
    name: module,
    ...(routeKey === ROUTE.connect ? { auth: { lambda: authorizer.id } } : {}),
  });
}
