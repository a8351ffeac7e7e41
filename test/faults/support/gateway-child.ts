import { AUTHORIZER_IDENTITY_SOURCES, LIMITS, LOCAL } from "@wsauth/core/constants";
import type { Log } from "@wsauth/core/logging";
import { startGateway } from "@wsauth/local/gateway";
import { startHandlerHost } from "@wsauth/local/handlers";
import { consoleReporter } from "@wsauth/local/runner";
import type { LinkedValues } from "@wsauth/local/stack";
import { handlerEnvironment } from "@wsauth/local/stack";

/**
 * A gateway with the real handlers in a process of its own, so a test can kill it (SIGKILL: no
 * `$disconnect`, no close frames) and start it again on the same port. Configured by the JSON in
 * WSAUTH_GATEWAY_CHILD; prints one JSON line `{"port":...}` on stdout once it accepts connections.
 */

interface ChildConfig {
  port: number;
  stateDir: string;
  /** Everything the handlers need except the gateway's own URLs, which are known once it listens. */
  linked: Omit<LinkedValues, "webSocketUrl" | "managementEndpoint">;
}

const config = JSON.parse(process.env.WSAUTH_GATEWAY_CHILD ?? "{}") as ChildConfig;
const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const gateway = await startGateway({
  port: config.port,
  host: "127.0.0.1",
  stage: LOCAL.stage,
  region: LOCAL.region,
  accountId: LOCAL.accountId,
  apiId: LOCAL.apiId,
  routes: {},
  identitySources: AUTHORIZER_IDENTITY_SOURCES,
  log: quiet,
});
const handlers = await startHandlerHost({
  stateDir: config.stateDir,
  env: handlerEnvironment({
    ...config.linked,
    webSocketUrl: gateway.url,
    managementEndpoint: gateway.managementEndpoint,
  }),
  watch: false,
  quiet: true,
  reporter: consoleReporter({ quiet: true }),
  integrationTimeoutMs: LIMITS.integrationTimeoutMs,
});
gateway.setRoutes(handlers.routes, handlers.authorizer);
process.stdout.write(`${JSON.stringify({ port: gateway.port })}\n`);
