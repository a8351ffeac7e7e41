/**
 * The one source of truth for every value that infra (`infra/*.ts`) and the local stack
 * (`packages/local`) must agree on. Nothing in here may import a runtime dependency: `sst.config.ts`
 * imports this module while SST evaluates the app.
 */

export const APP_NAME = "wsauth";

/** Names of the linked SST resources, as handlers see them through `Resource.<Name>`. */
export const RESOURCE = {
  table: "Connections",
  api: "Realtime",
  userPool: "UserPool",
  webClient: "WebClient",
  /** The deployed site (`Resource.Web.url`); locally the web app runs outside SST. */
  web: "Web",
  /** The fan-out worker (`Resource.FanOut.name`), invoked asynchronously by the routes that fan out. */
  fanOut: "FanOut",
  /** The IAM-invoked revocation of a user (`pnpm ws revoke`, the CloudTrail rule on Cognito admin actions). */
  revoke: "Revoke",
} as const;

/** The connections registry table: keys, the by-user index and the TTL attribute. */
export const CONNECTIONS_TABLE = {
  fields: {
    pk: "string",
    sk: "string",
    gsi1pk: "string",
    gsi1sk: "string",
  },
  primaryIndex: { hashKey: "pk", rangeKey: "sk" },
  globalIndexes: {
    byUser: { hashKey: "gsi1pk", rangeKey: "gsi1sk" },
  },
  ttl: "expireAt",
} as const;

/** ElectroDB service name; part of every key, so several services can share one table. */
export const CONNECTION_SERVICE = "wsauth";

/** Route keys of the WebSocket API. */
export const ROUTE = {
  connect: "$connect",
  disconnect: "$disconnect",
  default: "$default",
  sendmessage: "sendmessage",
  whoami: "whoami",
  ping: "ping",
  reauth: "reauth",
  broadcast: "broadcast",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  publish: "publish",
  revoke: "revoke",
} as const;
export type RouteKey = (typeof ROUTE)[keyof typeof ROUTE];

/** Route selection as configured on the API: `$request.body.action`. */
export const ROUTE_SELECTION_EXPRESSION = "$request.body.action";
/** The JSON field of a client frame that selects its route (see ROUTE_SELECTION_EXPRESSION). */
export const ROUTE_SELECTION_FIELD = "action";

/**
 * Which handler module (`packages/functions/src/<name>.ts`, export `handler`) serves each route.
 * infra/realtime.ts and the local gateway both build their route tables from this map.
 */
export const ROUTE_HANDLERS: Readonly<Record<RouteKey, string>> = {
  $connect: "connect",
  $disconnect: "disconnect",
  $default: "default",
  sendmessage: "sendmessage",
  whoami: "whoami",
  ping: "ping",
  reauth: "reauth",
  broadcast: "broadcast",
  subscribe: "subscribe",
  unsubscribe: "unsubscribe",
  publish: "publish",
  revoke: "revoke",
};

/** Channels: names, history retention (see `@wsauth/core/channel` for the namespace rules). */
export const CHANNELS = {
  /** A name is 2-5 segments separated by "/"; the first is the namespace. */
  minSegments: 2,
  maxSegments: 5,
  segmentPattern: "^[A-Za-z0-9_-]{1,64}$",
  /** History keeps the last `historyEvents` events or those of the last `historyWindowMs`, whichever is more. */
  historyEvents: 100,
  historyWindowMs: 2 * 60 * 1000,
  /** Hard cap on any history row (DynamoDB TTL); also how long a quiet channel remembers its last seq. */
  historyTtlSeconds: 24 * 60 * 60,
} as const;

/** Handler module of the `$connect` REQUEST authorizer. */
export const AUTHORIZER_HANDLER = "authorizer";

/** Handler modules of the scheduled sweeper and of the IAM-invoked push to a user. */
export const JOB_HANDLERS = { sweep: "sweep", notify: "notify", fanout: "fanout", revoke: "revokeuser" } as const;

/**
 * Revocation (`@wsauth/core/revocation`): a per-user record whose `notBefore` (epoch seconds) refuses
 * every token signed in before it (`auth_time`, else `iat`), at `$connect`, on `reauth` and on
 * `broadcast`; writing it closes the user's live connections.
 */
export const REVOCATION = {
  /**
   * How long a container trusts what it read of a user's record before reading it again (the
   * authorizer's one GetItem per `$connect` is skipped within it). This bounds how long after a
   * revocation a warm container may still accept a revoked token on `$connect`.
   */
  lookupCacheMs: 2_000,
  /** Most users one container remembers lookups for (oldest dropped first). */
  lookupCacheEntries: 5_000,
  /**
   * A revocation closes the user's connections at once, then looks again after this long (past the
   * lookup cache and the by-user index's propagation) and closes any connection of a revoked token
   * that was accepted in between.
   */
  secondPassMs: 3_000,
  /**
   * TTL of the record past its `notBefore`: no shorter than the longest token Cognito can issue (ID
   * and access tokens can be configured up to 1 day), so no token it refuses outlives it.
   */
  recordTtlSeconds: 24 * 60 * 60 + 15 * 60,
  /** The Cognito admin actions (CloudTrail `eventName`s) that revoke a user through the `Revoke` function. */
  cognitoAdminEvents: ["AdminDisableUser", "AdminUserGlobalSignOut", "AdminRemoveUserFromGroup", "AdminDeleteUser"],
  /** How those actions reach EventBridge: CloudTrail's API-call events of Cognito user pools. */
  cloudTrail: {
    detailType: "AWS API Call via CloudTrail",
    source: "aws.cognito-idp",
    eventSource: "cognito-idp.amazonaws.com",
  },
} as const;

/**
 * Parallel fan-out (`broadcast`, and any later fan-out over a list of connections). Up to `inlineMax`
 * recipients the route sends itself: one invocation at `concurrency` sends in flight and a 10 ms round
 * trip delivers 500 frames in about 0.3 s, less than an extra invocation's start-up would add. Above it
 * the recipients are cut into jobs of `jobSize` connection ids, each sent to the `FanOut` function as
 * an asynchronous invocation (`InvocationType: Event`); the route answers once every job is accepted.
 */
export const FANOUT = {
  inlineMax: 500,
  jobSize: 500,
  /** Sends in flight per job (and inline): within API Gateway's `@connections` rate per worker. */
  concurrency: 16,
  /** Retries of a failed job (Lambda's asynchronous retries, 0-2; infra sets the function's `retries`). */
  retries: 2,
  /** How long a job's progress marker outlives it (TTL); longer than Lambda's retry window of minutes. */
  markerTtlSeconds: 6 * 60 * 60,
  /**
   * Shortest time between two progress-marker writes of a job. Longer means fewer writes (each a
   * DynamoDB write and Lambda time) but more sends repeated when a worker dies mid-job.
   */
  markerIntervalMs: 100,
  /** Jobs a route hands to Lambda (`Invoke`, `InvocationType: Event`) at once. */
  dispatchConcurrency: 16,
} as const;

/**
 * The DynamoDB actions each handler module makes on the connections table (and its indexes): the
 * registry's connection rows and the channels' subscription, presence, sequence and history rows.
 * infra grants each function exactly these and nothing else. Only functions that record connections,
 * subscriptions or published events may write new rows (`PutItem`); nothing scans, batches or uses
 * transactions. The deploy tests record the calls every handler really makes and fail when one is
 * missing here or granted without being used.
 */
export const TABLE_ACTIONS: Readonly<Record<string, readonly string[]>> = {
  /** Reads the caller's revocation record (at most once per `$connect`; REVOCATION.lookupCacheMs). */
  authorizer: ["dynamodb:GetItem"],
  /**
   * Records the connection and the user's sign-in name, and counts it for the user (a conditional
   * update). At the cap it reads the count and the counted rows, and prunes the ones the gateway no
   * longer has, with their channel rows (as a send that meets a 410 does).
   */
  connect: ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query"],
  /**
   * Deletes the connection (and takes it out of its user's count), its subscriptions and its presence
   * (a last tab's leave updates the set).
   */
  disconnect: ["dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"],
  /**
   * Message routes read the sender's row; a send that meets a closed connection deletes its row and
   * its channel rows (found by connection; a presence leave updates the member set and is announced).
   */
  default: ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"],
  ping: ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"],
  /** Lists the caller's other connections. */
  whoami: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
  /**
   * Finds the target's connections by user id or sign-in name. Like `publish` and `broadcast`, it
   * counts the frame on the sender's row (an UpdateItem that returns the row; a GetItem when refused).
   */
  sendmessage: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
  /** Extends the connection's token expiry in place. */
  reauth: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
  /** Walks every shard of the registry (jobs above FANOUT.inlineMax go to `FanOut`). */
  broadcast: ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
  /**
   * Reads and advances its job's progress marker; a send that meets a closed connection deletes its
   * row and its channel rows (as the message routes do).
   */
  fanout: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
  /**
   * Records the subscription, joins presence, marks the connection joining on the sequence row, replays
   * history since `since` (voiding a seq whose event never came); a caller gone mid-request loses the
   * rows it has just written and its own.
   */
  subscribe: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:DeleteItem"],
  /** Deletes the subscription and leaves presence. */
  unsubscribe: ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:Query"],
  /** Numbers the event, records it in history and fans it out; a closed subscriber's rows are deleted. */
  publish: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"],
  sweep: ["dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
  /** Pushes to a user's connections, or publishes to a channel as `system` (as `publish` does). */
  notify: ["dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
  /**
   * The caller revokes their own sessions: reads its row and revocation record, writes the record, finds
   * the user's connections by user and deletes them with their channel rows.
   */
  revoke: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
  /** `Revoke`: resolves a sign-in name (alias rows), writes the record, closes the user's connections. */
  revokeuser: ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
};

/** Subprotocol that carries the token: the client offers `[SUBPROTOCOL, <JWT>]`, the server answers `SUBPROTOCOL`. */
export const SUBPROTOCOL = "wsauth.v1";
/** Query string parameter that carries the token (compatible with the original sample). */
export const TOKEN_QUERY_PARAM = "idToken";

/**
 * Identity sources of the `$connect` authorizer. API Gateway answers 401 without invoking the
 * authorizer when a configured source is missing or empty, and it requires *all* of them. Because a
 * client may use either transport (query string or subprotocol), none is configured: the authorizer
 * itself rejects a request that carries no token.
 */
export const AUTHORIZER_IDENTITY_SOURCES: readonly string[] = [];

/**
 * Environment variables of the `$connect` authorizer (and of any handler that verifies tokens), set
 * by infra. All optional: without them the authorizer accepts ID tokens of the web client only and
 * fetches the pool's JWKS on first use.
 */
export const AUTHORIZER_ENV = {
  /** The user pool's JWKS as JSON, captured at build/deploy time, so a cold start needs no network call. */
  jwksSnapshot: "WSAUTH_JWKS",
  /** "true" to accept Cognito access tokens as well as ID tokens. */
  acceptAccessTokens: "WSAUTH_ACCEPT_ACCESS_TOKENS",
  /**
   * Comma-separated Cognito groups (a comma inside a name written `%2C`, a `%` as `%25`); when set,
   * the caller must belong to at least one of them.
   */
  requiredGroups: "WSAUTH_REQUIRED_GROUPS",
} as const;
export const JWKS_SNAPSHOT_ENV = AUTHORIZER_ENV.jwksSnapshot;
/** The token policy settings a deploy forwards from its own environment to the token verifiers. */
export const TOKEN_POLICY_ENV = [AUTHORIZER_ENV.acceptAccessTokens, AUTHORIZER_ENV.requiredGroups] as const;

/** The Cognito group whose members may `broadcast`. */
export const ADMIN_GROUP = "admins";

/**
 * The web app client's sign-in flows. Deployed, the site signs in with SRP (the password never leaves
 * the browser) and refreshes; no deployed client accepts a plain password (`USER_PASSWORD_AUTH`), so a
 * phished or guessed password cannot be tried with one scripted call. The local Cognito emulator has
 * no SRP: its client also allows `USER_PASSWORD_AUTH`, which the local site, tests and benchmarks use.
 */
export const WEB_CLIENT_AUTH_FLOWS = {
  deployed: ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
  local: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
} as const;

/** Limits of API Gateway WebSocket APIs that the local gateway reproduces and the code respects. */
export const LIMITS = {
  /** Largest message payload API Gateway accepts. */
  messagePayloadBytes: 128 * 1024,
  /** Largest single WebSocket frame; a larger one closes the connection with 1009. */
  frameBytes: 32 * 1024,
  /** Idle connections are closed after this long without a frame. */
  idleTimeoutMs: 10 * 60 * 1000,
  /** Hard cap on a connection's lifetime. */
  connectionLifetimeMs: 2 * 60 * 60 * 1000,
  /** Integration (handler) timeout. */
  integrationTimeoutMs: 29 * 1000,
  /** Largest token the authorizer will look at; larger is rejected before any parsing. */
  maxTokenBytes: 8 * 1024,
} as const;

/**
 * The hand-off of a `subscribe` from replay to live events (see `@wsauth/core/messaging`'s channels).
 * A subscribing connection is marked *joining* on the channel's sequence row while it replays; a
 * publish whose seq is taken meanwhile leaves it to the replay.
 */
export const CHANNEL_JOIN = {
  /**
   * A joining mark or a numbered event older than this belongs to an invocation that has ended: every
   * route and job times out before the integration timeout (a subscribe that crashed leaves a mark that
   * publishes then ignore).
   */
  inFlightMs: LIMITS.integrationTimeoutMs,
  /** How long a replay waits for the history row of an event whose seq is taken but not yet stored. */
  waitMs: 2_000,
  /** Replay rounds before the hand-off is forced (a channel publishing faster than one replay round). */
  handoffRounds: 16,
} as const;

/**
 * The sweep (`infra/jobs.ts`, `packages/functions/src/sweep.ts`). It runs every minute with a timeout of
 * two: a backlog after an outage can take longer than one run, and an overlapping run is harmless (a
 * row is only acted on through a conditional delete). Each run stops taking new pages when less than
 * `reserveMs` of its invocation is left, and starts at the next shard in turn (the minute of the run
 * picks it), so a backlog that outlasts one run still has every shard visited within a few runs.
 */
export const SWEEP = {
  intervalMs: 60 * 1000,
  timeoutSeconds: 120,
  reserveMs: 15 * 1000,
} as const;

/**
 * Abuse limits of one user and one connection (the README's "Limits"). API Gateway has no per-user or
 * per-connection limit, so these are ours; STAGE_THROTTLE below is the gateway's own safety valve.
 *
 * - `maxConnectionsPerUser`: live connections of one user; the next `$connect` is refused with 429.
 *   Counted in one counter row per user (a set of its connections, changed by conditional updates),
 *   not by the eventually consistent by-user index.
 * - `message`: frames per connection on the routes that cost a fan-out (RATE_LIMITED_ROUTES): a fixed
 *   window of `burst / ratePerSecond` seconds that admits `burst` frames, so `ratePerSecond` on average
 *   and at most `burst` at once. An excess frame is answered `throttled`; the connection stays open.
 */
export const ABUSE_LIMITS = {
  maxConnectionsPerUser: 10,
  message: { ratePerSecond: 10, burst: 20 },
  /**
   * A counted connection younger than this may still be inside its `$connect` (the integration
   * timeout, with room): a repair at the cap never drops it for lacking a row or a socket.
   */
  pendingConnectMs: 60 * 1000,
} as const;

/** Environment variables that override ABUSE_LIMITS; infra forwards them from the deploying shell. */
export const ABUSE_LIMITS_ENV = {
  maxConnectionsPerUser: "WSAUTH_MAX_CONNECTIONS_PER_USER",
  messageRatePerSecond: "WSAUTH_MESSAGE_RATE_PER_SECOND",
  messageBurst: "WSAUTH_MESSAGE_BURST",
} as const;

/** The routes whose frames are rate limited per connection (each one costs a fan-out). */
export const RATE_LIMITED_ROUTES: readonly RouteKey[] = [ROUTE.sendmessage, ROUTE.publish, ROUTE.broadcast];

/**
 * Stage throttling of the WebSocket API: the stage's default route settings, so every route (`$connect`
 * and each message route) has its own token bucket of this rate (requests per second) and size. infra
 * sets it on the stage; the local gateway enforces the same buckets. Generous: it is the global safety
 * valve against a flood, far above what the per-user and per-connection limits let one user do (the
 * account's own quota of 500 new connections per second binds `$connect` first).
 *
 * Per-route overrides (`routeSettings`) are not used: AWS refuses route settings that name a route
 * that does not exist yet, SST's `ApiGatewayWebSocket` creates its stage before any route, and making
 * the stage wait for the routes deadlocks the deploy (the routes' functions wait on the API's stage).
 */
export const STAGE_THROTTLE = {
  default: { rateLimit: 1000, burstLimit: 500 },
} as const;

/** A registry row outlives its connection's 2 h cap by this much before TTL may delete it. */
export const EXPIRE_MARGIN_SECONDS = 15 * 60;

/** Stage name and defaults of the local stack. */
export const LOCAL = {
  stage: "local",
  region: "us-east-1",
  accountId: "000000000000",
  apiId: "local",
  tableName: "wsauth-local-connections",
  ports: { web: 3000, gateway: 3001, cognito: 9229, dynamo: 8000 },
  outputsFile: ".local/outputs.json",
} as const;

/**
 * The local stack's one credential pair. Its `@connections` API accepts only requests SigV4-signed
 * with it (IAM's stand-in), and the handlers, the CLI and tests sign with it. It is published here
 * and in `.local/outputs.json` on purpose: it proves nothing about who you are, but a web page cannot
 * make a browser sign with it, so a page the developer visits cannot drive the local API.
 */
export const LOCAL_CREDENTIALS = {
  accessKeyId: "WSAUTHLOCALACCESSKEY",
  secretAccessKey: "wsauth-local-secret-access-key-not-for-aws",
} as const;

/** Keys of the outputs object returned by `sst.config.ts` and written to `.local/outputs.json`. */
export const OUTPUT_KEYS = [
  "region",
  "userPoolId",
  "userPoolClientId",
  "webSocketUrl",
  "managementEndpoint",
  "tableName",
  "webUrl",
  /** Which stage wrote them: `.sst/outputs.json` holds only the last `sst deploy`/`sst dev`'s outputs. */
  "stage",
] as const;
export type Outputs = Record<(typeof OUTPUT_KEYS)[number], string>;
export interface LocalOutputs extends Outputs {
  cognitoEndpoint: string;
  dynamoEndpoint: string;
  demoUsers: Array<{ username: string; password: string }>;
  /** LOCAL_CREDENTIALS: what a signed `@connections` call to the local stack uses. */
  localCredentials: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Environment variables the web app is configured with (from `.local/outputs.json` locally, from
 * `infra/web.ts` when deployed). Next.js inlines `NEXT_PUBLIC_*` values at build time.
 */
export const WEB_ENV = {
  region: "NEXT_PUBLIC_REGION",
  userPoolId: "NEXT_PUBLIC_USER_POOL_ID",
  userPoolClientId: "NEXT_PUBLIC_USER_POOL_CLIENT_ID",
  webSocketUrl: "NEXT_PUBLIC_WEBSOCKET_URL",
  /** Local only: the Cognito emulator's endpoint (Amplify's `userPoolEndpoint`). */
  cognitoEndpoint: "NEXT_PUBLIC_COGNITO_ENDPOINT",
  /** `USER_SRP_AUTH` when deployed; `USER_PASSWORD_AUTH` locally (the emulator has no SRP). */
  authFlow: "NEXT_PUBLIC_AUTH_FLOW",
  /** Local only: the demo logins (JSON `[{username, password}]`), listed on the sign-in page. */
  demoUsers: "NEXT_PUBLIC_DEMO_USERS",
} as const;

/**
 * Timeouts of the handlers' calls to DynamoDB and the `@connections` API. A stalled dependency must
 * fail a call (reported as `dependency_failed`) inside the 29 s integration timeout, even after the
 * SDK's three attempts, instead of holding the handler until the gateway gives up on it. The SDK starts
 * both clocks when a request is created, so time spent waiting for a free socket counts: the values
 * leave room for bursts (the local stack runs many invocations through one set of clients).
 */
export const DEPENDENCY_TIMEOUTS = {
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 8_000,
} as const;
