import { APP_NAME, AUTHORIZER_HANDLER, ROUTE, ROUTE_HANDLERS, ROUTE_SELECTION_FIELD } from "@wsauth/core/constants";
import type { ConnectionFacts, EventBuilder } from "@wsauth/core/events";
import type { Log } from "@wsauth/core/logging";
import type { Connection } from "./connection";
import { errorMessage, type Invocation, invoke } from "./invoke";
import { errorFrame, readProxyResponse } from "./responses";
import { type StageThrottler, THROTTLED } from "./throttle";
import type { LambdaHandler, RouteTable } from "./types";

export interface IntegrationsOptions {
  routes: RouteTable;
  authorizer: LambdaHandler | undefined;
  events: EventBuilder;
  stage: string;
  region: string;
  accountId: string;
  timeoutMs: number;
  /** Send an integration's returned `body` back to the client (two-way routes; see GatewayOptions). */
  routeResponses: boolean;
  /** Whether debug lines are wanted (they cost a redaction pass each). */
  debug: boolean;
  /** The stage's per-route token buckets. */
  throttler: StageThrottler;
  log: Log;
}

/**
 * The Lambda side of the gateway: the route table and authorizer (swapped on hot reload), route
 * selection, and invoking a handler with its function name and the integration timeout. Client
 * messages are routed here; running `$disconnect` invocations are tracked so shutdown can wait for them.
 */
export class Integrations {
  readonly events: EventBuilder;
  #routes: RouteTable;
  #authorizer: LambdaHandler | undefined;
  readonly #options: IntegrationsOptions;
  readonly #functionNames = new Map<string, string>();
  readonly #pendingDisconnects = new Set<Promise<void>>();

  constructor(options: IntegrationsOptions) {
    this.#options = options;
    this.events = options.events;
    this.#routes = { ...options.routes };
    this.#authorizer = options.authorizer;
  }

  get authorizer(): LambdaHandler | undefined {
    return this.#authorizer;
  }

  /** New events use the new handlers; running invocations finish on the old ones. */
  replace(routes: RouteTable, authorizer: LambdaHandler | undefined): void {
    this.#routes = { ...routes };
    if (authorizer) this.#authorizer = authorizer;
  }

  /**
   * The handler of a route key. Own keys only: an action named after an `Object.prototype` member
   * ("constructor", "toString", "__proto__") is an unknown route, not a call into the prototype.
   */
  handler(routeKey: string): LambdaHandler | undefined {
    return Object.hasOwn(this.#routes, routeKey) ? this.#routes[routeKey] : undefined;
  }

  /** `$request.body.action` with `$default` as fallback (non-JSON, no action, unknown action, `$`-keys). */
  selectRoute(body: string): string {
    const first = body.charCodeAt(0) === 0x7b ? "{" : body.trimStart()[0];
    if (first !== "{") return ROUTE.default;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return ROUTE.default;
    }
    const action = (parsed as Record<string, unknown> | null)?.[ROUTE_SELECTION_FIELD];
    if (typeof action !== "string" || action.startsWith("$") || !this.handler(action)) return ROUTE.default;
    return action;
  }

  /**
   * Routes a client message to its integration (binary messages always to `$default`). Like API
   * Gateway, it answers with an error frame when no route matches and when the integration fails.
   */
  receive(connection: Connection, body: string, isBinary: boolean, bytes: number): void {
    const { log, debug } = this.#options;
    const { connectionId } = connection;
    const routeKey = isBinary ? ROUTE.default : this.selectRoute(body);
    const handler = this.handler(routeKey);
    const event = this.events.messageEvent(routeKey, connection.facts, body, isBinary);
    const { requestId } = event.requestContext;
    if (!handler) {
      // No matching route and no $default: API Gateway answers with an error frame, the connection stays.
      connection.send(errorFrame("Forbidden", connectionId, requestId));
      if (debug) log.debug("no route", { connectionId });
      return;
    }
    if (!this.#options.throttler.admit(routeKey)) {
      // Over the stage's throttle: API Gateway answers with an error frame and invokes nothing.
      connection.send(errorFrame(THROTTLED.message, connectionId, requestId));
      log.info("message throttled", { connectionId, routeKey });
      return;
    }
    if (debug) log.debug("message", { connectionId, routeKey, bytes });
    void this.invoke(routeKey, handler, event).then((invocation) => {
      if (!invocation.ok) {
        this.logFailure(routeKey, invocation, connectionId, requestId);
        connection.send(errorFrame("Internal server error", connectionId, requestId));
        return;
      }
      if (this.#options.routeResponses) {
        const response = readProxyResponse(invocation.value);
        if (response?.body !== undefined) connection.send(response.body);
      }
    });
  }

  /** `wsauth-<stage>-<module>`, as the deployed function of a route (or the authorizer) is named. */
  functionName(routeKey: string): string {
    let name = this.#functionNames.get(routeKey);
    if (!name) {
      const module =
        routeKey === AUTHORIZER_HANDLER ? AUTHORIZER_HANDLER : (ROUTE_HANDLERS as Record<string, string>)[routeKey];
      name = `${APP_NAME}-${this.#options.stage}-${module ?? routeKey.replace(/^\$/, "")}`;
      this.#functionNames.set(routeKey, name);
    }
    return name;
  }

  /** Invokes the handler of `routeKey` (or `AUTHORIZER_HANDLER`) with the integration timeout. */
  invoke(routeKey: string, handler: LambdaHandler, event: unknown): Promise<Invocation> {
    const { region, accountId, timeoutMs } = this.#options;
    return invoke(handler, event, { functionName: this.functionName(routeKey), region, accountId, timeoutMs });
  }

  logFailure(
    routeKey: string,
    invocation: Exclude<Invocation, { ok: true }>,
    connectionId: string,
    requestId?: string,
  ) {
    this.#options.log.error(invocation.reason === "timeout" ? "integration timed out" : "integration failed", {
      routeKey,
      handler: this.functionName(routeKey),
      connectionId,
      ...(requestId ? { requestId } : {}),
      ...(invocation.reason === "timeout"
        ? { timeoutMs: this.#options.timeoutMs }
        : { error: errorMessage(invocation.error) }),
    });
  }

  /** Runs `$disconnect` for a connection that ended (or never opened after `$connect` ran). */
  disconnect(facts: ConnectionFacts, host: string, code: number, reason: string): void {
    const running = this.#runDisconnect(facts, host, code, reason);
    this.#pendingDisconnects.add(running);
    void running.finally(() => this.#pendingDisconnects.delete(running));
  }

  /** Resolves once every `$disconnect` started so far has finished. */
  async disconnectsSettled(): Promise<void> {
    await Promise.allSettled([...this.#pendingDisconnects]);
  }

  async #runDisconnect(facts: ConnectionFacts, host: string, code: number, reason: string): Promise<void> {
    const handler = this.handler(ROUTE.disconnect);
    if (!handler) return;
    const invocation = await this.invoke(
      ROUTE.disconnect,
      handler,
      this.events.disconnectEvent(facts, host, code, reason),
    );
    if (!invocation.ok) this.logFailure(ROUTE.disconnect, invocation, facts.connectionId);
  }
}
