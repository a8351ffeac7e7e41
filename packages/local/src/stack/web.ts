import { createRequire } from "node:module";
import { join } from "node:path";
import { LOCAL, WEB_ENV } from "@wsauth/core/constants";
import { startLoopbackProxy } from "../loopback/proxy";
import { type Child, LocalStackError, type Reporter, startChild, waitForHttp } from "../runner";
import { pickFreePort } from "./ports";

const WEB_READY_TIMEOUT_MS = 90_000;

export interface WebSite {
  url: string;
  stop(): Promise<void>;
}

/** The site's configuration (WEB_ENV): the same values `.local/outputs.json` holds. */
export function webEnvironment(values: {
  userPoolId: string;
  clientId: string;
  webSocketUrl: string;
  cognitoEndpoint: string;
  demoUsers: ReadonlyArray<{ username: string; password: string }>;
}): Record<string, string> {
  return {
    [WEB_ENV.region]: LOCAL.region,
    [WEB_ENV.userPoolId]: values.userPoolId,
    [WEB_ENV.userPoolClientId]: values.clientId,
    [WEB_ENV.webSocketUrl]: values.webSocketUrl,
    [WEB_ENV.cognitoEndpoint]: values.cognitoEndpoint,
    // The emulator has no SRP.
    [WEB_ENV.authFlow]: "USER_PASSWORD_AUTH",
    // Local only (never set by infra): the sign-in page lists them, so a newcomer need not search the terminal.
    [WEB_ENV.demoUsers]: JSON.stringify(values.demoUsers.map(({ username, password }) => ({ username, password }))),
  };
}

function nextBin(webDir: string): string {
  try {
    return createRequire(join(webDir, "package.json")).resolve("next/dist/bin/next");
  } catch (error) {
    throw new LocalStackError(
      "Next.js is not installed for web/",
      "run `pnpm install`, or start without the site: --no-web",
      {
        cause: error,
      },
    );
  }
}

/**
 * Starts `next dev` for `web/` and resolves once it answers HTTP. `next dev` cannot refuse foreign
 * `Host` names (DNS rebinding), so it listens on a private port behind a loopback-only proxy on `port`.
 */
export async function startWeb(options: {
  webDir: string;
  port: number;
  host: string;
  env: Record<string, string>;
  reporter: Reporter;
  quiet: boolean;
}): Promise<WebSite> {
  const url = `http://${options.host}:${options.port}`;
  const devPort = await pickFreePort(options.host);
  const proxy = await startLoopbackProxy({ port: options.port, host: options.host, upstreamPort: devPort });
  const child: Child = startChild({
    name: "next dev",
    command: process.execPath,
    args: [nextBin(options.webDir), "dev", "--port", String(devPort), "--hostname", options.host],
    cwd: options.webDir,
    // The public port names the build directory (web/next.config.ts), so it is stable across runs.
    env: {
      ...process.env,
      ...options.env,
      NEXT_TELEMETRY_DISABLED: "1",
      PORT: String(devPort),
      WSAUTH_WEB_PORT: String(options.port),
    },
    onLine: (line) => {
      if (!options.quiet && line.trim()) options.reporter.info(`web: ${line}`);
    },
  });
  try {
    // Ready once `next dev` itself answers (the proxy answers 502 until then).
    await waitForHttp(`http://${options.host}:${devPort}`, {
      name: "next dev",
      timeoutMs: WEB_READY_TIMEOUT_MS,
      isDead: () =>
        child.exited()
          ? `it exited; last output: ${child.recentOutput().slice(-5).join(" | ") || "(none)"}`
          : undefined,
    });
  } catch (error) {
    await child.stop();
    await proxy.close();
    throw error;
  }
  return {
    url,
    stop: async () => {
      await proxy.close();
      await child.stop();
    },
  };
}
