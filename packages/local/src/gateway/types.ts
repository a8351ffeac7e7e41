import type { Log } from "@wsauth/core/logging";
import type { Context } from "aws-lambda";
import type { StageThrottle } from "./throttle";

/**
 * A Lambda handler as the gateway invokes it.
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers declare their own event types (connect, message, authorizer); `any` keeps every one of them assignable here.
export type LambdaHandler = (event: any, context: Context) => Promise<unknown>;

/** Route key -> handler (`$connect`, `$disconnect`, `$default` and action routes). */
export type RouteTable = Partial<Record<string, LambdaHandler>>;

export interface GatewayLimits {
  /** Largest single WebSocket frame from a client; a larger one closes the connection with 1009. */
  frameBytes: number;
  /** Largest message (all frames of it) from a client, and largest `@connections` POST body. */
  messagePayloadBytes: number;
  /** A connection without client activity for this long is closed (1001). */
  idleTimeoutMs: number;
  /** A connection is closed (1001) this long after it opened, whatever it does. */
  connectionLifetimeMs: number;
  /** How long an authorizer or route integration may run before it counts as failed. */
  integrationTimeoutMs: number;
}

export interface GatewayOptions {
  /** 0 = ephemeral; default LOCAL.ports.gateway. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** URL path prefix, as on AWS: ws://host:port/<stage>. Default LOCAL.stage. */
  stage?: string;
  region?: string;
  accountId?: string;
  apiId?: string;
  routes: RouteTable;
  /**
   * Refuse every upgrade (503) until the first `setRoutes`: for a gateway that listens before its
   * handlers (and authorizer) are loaded, so no socket opens without them.
   */
  waitForRoutes?: boolean;
  /** REQUEST authorizer on `$connect`. */
  authorizer?: LambdaHandler;
  /** Identity source expressions (`route.request.header.X`, `route.request.querystring.X`). */
  identitySources?: readonly string[];
  limits?: Partial<GatewayLimits>;
  /**
   * Stage throttling: a token bucket per route (`$connect` and every message route), as the stage's
   * `defaultRouteSettings` / `routeSettings` do on AWS. Over it, an upgrade is answered 429 and a
   * message gets API Gateway's `Too Many Requests` error frame. Default: none (the local stack passes
   * STAGE_THROTTLE from core constants).
   */
  throttle?: StageThrottle;
  /**
   * Whether a route integration's returned `body` is sent back to the client (two-way routes). On AWS
   * that needs a route response on the route; the SST routes this project deploys have none, so the
   * default (false) discards integration results, as the deployed API does.
   */
  routeResponses?: boolean;
  /**
   * Browser origins allowed to open sockets (the site's). A handshake with any other `Origin` is
   * refused (403); one without (Node, CLIs) is not. Default: none.
   */
  allowedOrigins?: readonly string[];
  /** The one credential pair `@connections` requests must be signed with. Default LOCAL_CREDENTIALS. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  log?: Log;
}

export interface Gateway {
  /** ws://127.0.0.1:<port>/<stage> */
  url: string;
  /** http://127.0.0.1:<port>/<stage> */
  managementEndpoint: string;
  port: number;
  /** Open connections (accepted and not yet closed). */
  connectionCount(): number;
  /**
   * Replaces the handlers (hot reload). New events use the new handlers; running invocations finish
   * on the old ones. When `authorizer` is not passed, the current authorizer stays. Ends `waitForRoutes`.
   */
  setRoutes(routes: RouteTable, authorizer?: LambdaHandler): void;
  /** Every open socket gets `$disconnect` (awaited), then the server closes. */
  close(): Promise<void>;
}
