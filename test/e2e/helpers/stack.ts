import { rm } from "node:fs/promises";
import { join } from "node:path";
import { AUTHORIZER_IDENTITY_SOURCES, LOCAL } from "@wsauth/core/constants";
import { createLog } from "@wsauth/core/logging";
import { type Gateway, startGateway } from "@wsauth/local/gateway";
import { siteOrigins } from "@wsauth/local/loopback";
import type { TestStack } from "@wsauth/local/testing";

/**
 * Kills the gateway (every socket drops), runs `whileDown`, then starts a new gateway on the same
 * port with the stack's handlers, so clients can find it again at the same URL. The caller owns the
 * returned gateway and must close it before stopping the stack (whose own gateway is the old one).
 */
export async function restartGateway(
  stack: TestStack,
  current: Gateway,
  whileDown: () => Promise<void>,
): Promise<Gateway> {
  const { port } = current;
  await current.close();
  await whileDown();
  return startGateway({
    port,
    host: new URL(current.url).hostname,
    stage: LOCAL.stage,
    region: LOCAL.region,
    accountId: LOCAL.accountId,
    apiId: LOCAL.apiId,
    routes: stack.handlers.routes,
    authorizer: stack.handlers.authorizer,
    identitySources: AUTHORIZER_IDENTITY_SOURCES,
    // The site's origin, as the stack's own gateway allows it (any other browser origin is refused).
    allowedOrigins: siteOrigins(stack.outputs.webUrl),
    // Warnings and errors only, like the test stack's own (quiet) gateway.
    log: createLog("gateway", { level: "warn" }),
  });
}

const WEB_DIR = join(import.meta.dirname, "../../../web");

/**
 * Stops a stack started with the site, then removes the build directory its `next dev` made: on an
 * ephemeral port it builds into a directory of its own (see web/next.config.ts).
 */
export async function stopStackWithSite(stack: TestStack | undefined): Promise<void> {
  if (!stack) return;
  await stack.stop();
  await rm(join(WEB_DIR, ".next", `port-${new URL(stack.outputs.webUrl).port}`), { recursive: true, force: true });
}
