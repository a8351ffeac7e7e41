import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { WEB_ENV } from "@wsauth/core/constants";
import { beforeAll, describe, expect, it } from "vitest";
import { type Graph, type GraphFunction, resourcesOf } from "../deploy/checks";
import { deployShell, evaluate, ROOT } from "../deploy/graph";
import { parsePolicy } from "../helpers/csp";

// The deployed site really builds and serves. `sst deploy` builds it with the command SST's Nextjs
// component picks (the OpenNext package and version for our Next.js, read here from the deploy graph's
// builder, so it is never written down twice) in web/, inside the workspace, on a machine with only
// Node.js and npm: PATH has no pnpm. Then the server function OpenNext produced is invoked, as Lambda
// would, with the event CloudFront's origin request makes for `/` (a Lambda function URL, payload 2.0).

/** PATH without any directory that holds a `pnpm` (the machine a new user deploys from). */
function pathWithoutPnpm(): string {
  const runnable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => dir !== "" && !runnable(join(dir, "pnpm")) && !dir.includes("pnpm"))
    .join(delimiter);
}

function run(command: string, options: { cwd: string; env: Record<string, string>; input?: string; args?: string[] }) {
  return new Promise<{ status: number | null; output: string; stdout: string }>((resolve, reject) => {
    const child = options.args
      ? spawn(command, options.args, { cwd: options.cwd, env: options.env })
      : spawn("/bin/sh", ["-c", command], { cwd: options.cwd, env: options.env });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output, stdout }));
    child.stdin.end(options.input ?? "");
  });
}

/** The origin request CloudFront sends the server function's URL for `GET /`. */
function functionUrlEvent(distributionDomain: string) {
  const host = "abcdefghijklmnop.lambda-url.us-east-1.on.aws";
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/",
    rawQueryString: "",
    headers: {
      host,
      "x-forwarded-host": distributionDomain,
      "x-forwarded-proto": "https",
      "x-forwarded-for": "203.0.113.7",
      accept: "text/html,application/xhtml+xml",
      "accept-encoding": "gzip",
      "user-agent": "Amazon CloudFront",
      via: "2.0 example.cloudfront.net (CloudFront)",
    },
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghijklmnop",
      domainName: host,
      domainPrefix: "abcdefghijklmnop",
      http: { method: "GET", path: "/", protocol: "HTTP/1.1", sourceIp: "203.0.113.7", userAgent: "Amazon CloudFront" },
      requestId: "site-check-request",
      routeKey: "$default",
      stage: "$default",
      time: "03/Dec/2026:12:00:00 +0000",
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

const webDir = join(ROOT, "web");
const cleanEnv = (extra: Record<string, string>): Record<string, string> => ({
  PATH: pathWithoutPnpm(),
  HOME: process.env.HOME ?? "/root",
  LANG: process.env.LANG ?? "C.UTF-8",
  ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
  NEXT_TELEMETRY_DISABLED: "1",
  npm_config_update_notifier: "false",
  ...extra,
});

let planned: Graph;
let build: { status: number | null; output: string };

beforeAll(async () => {
  planned = await evaluate({ stage: "alice", env: deployShell() });
  const [builder] = resourcesOf(planned, "command:local:Command");
  const inputs = builder?.inputs as { create: string; dir: string; environment: Record<string, string> };
  // SST_SERVER points at the CLI that runs the deploy; the build does not use it.
  const { SST_SERVER: _cli, ...environment } = inputs.environment;
  build = await run(inputs.create, { cwd: inputs.dir, env: cleanEnv(environment) });
}, 20 * 60_000);

describe("the deployed site (OpenNext build of web/)", () => {
  it("builds with SST's OpenNext command in web/, without a pnpm on PATH", async () => {
    const [builder] = resourcesOf(planned, "command:local:Command");
    expect(builder?.inputs.dir).toBe(webDir);
    expect(builder?.inputs.create).toMatch(/^npx --yes @opennextjs\/aws@\d+\.\d+\.\d+ build$/);
    const probe = spawnSync("/bin/sh", ["-c", "command -v pnpm"], { env: cleanEnv({}) });
    expect(probe.status, "pnpm is reachable on the build's PATH").not.toBe(0);
    // OpenNext's image optimizer step downloads sharp's native library from GitHub; without network it
    // fails ("Could not install dependencies") and the build still completes.
    expect(build.status, build.output.slice(-4000)).toBe(0);
    expect(build.output).toContain("OpenNext build complete.");
    expect(existsSync(join(webDir, ".open-next/open-next.output.json"))).toBe(true);
  });

  it("serves the sign-in page for / from the server function, configured with the NEXT_PUBLIC_* values, under its CSP", async () => {
    // The graph of the real build: the server function's bundle, handler and environment as SST deploys them.
    const graph = await evaluate({ stage: "alice", env: deployShell(), siteBuild: "real" });
    const server = graph.functions.find((fn: GraphFunction) => fn.bundle?.endsWith("server-functions/default"));
    expect(server, "no server function in the graph").toBeDefined();
    const handlerFile = join(ROOT, server?.bundle ?? "", `${server?.handler.replace(/\.handler$/, "")}.mjs`);
    const [distribution] = resourcesOf(graph, "aws:cloudfront/distribution:Distribution");
    const environment = Object.fromEntries(
      Object.entries(server?.environment ?? {}).filter(([, value]) => value !== "[redacted]"),
    );
    const result = await run(process.execPath, {
      args: [join(import.meta.dirname, "invoke-server-function.mjs"), handlerFile],
      cwd: join(ROOT, server?.bundle ?? ""),
      env: cleanEnv({
        ...environment,
        AWS_REGION: graph.region,
        AWS_ACCESS_KEY_ID: "site-check",
        AWS_SECRET_ACCESS_KEY: "site-check",
        // Nothing on this path may reach AWS: any SDK call fails at once instead of waiting on a network.
        AWS_ENDPOINT_URL: "http://127.0.0.1:9",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      }),
      input: JSON.stringify(functionUrlEvent(`${distribution?.id ?? "site"}.cloudfront.net`)),
    });
    expect(result.status, result.output).toBe(0);
    expect(result.output.replace(result.stdout, "").trim(), "the server function logged").toBe("");
    const response = JSON.parse(result.stdout) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/html");
    expect(response.body).toContain("An authenticated WebSocket: sign in");
    expect(response.body).not.toContain("The site is not configured");
    for (const name of [WEB_ENV.userPoolId, WEB_ENV.userPoolClientId, WEB_ENV.webSocketUrl]) {
      const value = server?.environment[name];
      expect(value, name).toBeTruthy();
      expect(response.body, name).toContain(String(value));
    }

    // The policy the browser gets: its own origin, the pool's regional Cognito endpoint and the API's
    // WebSocket origin, scripts and styles by this response's nonce only, no eval.
    const policy = parsePolicy(response.headers["content-security-policy"] ?? "");
    expect(policy["default-src"]).toEqual(["'self'"]);
    expect(policy["connect-src"]).toEqual([
      "'self'",
      `https://cognito-idp.${graph.region}.amazonaws.com`,
      new URL(String(server?.environment[WEB_ENV.webSocketUrl])).origin,
    ]);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(response.headers["content-security-policy"] ?? "")?.[1];
    expect(nonce).toBeTruthy();
    expect(policy["script-src"]).toEqual(["'self'", `'nonce-${nonce}'`, "'strict-dynamic'"]);
    expect(policy["style-src"]).toEqual(["'self'", `'nonce-${nonce}'`]);
    for (const [name, sources] of Object.entries({
      "object-src": ["'none'"],
      "base-uri": ["'self'"],
      "form-action": ["'self'"],
      "frame-ancestors": ["'none'"],
    })) {
      expect(policy[name], name).toEqual(sources);
    }
    const scripts = response.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    expect(response.headers["x-content-type-options"]).toBe("nosniff");
    expect(response.headers["referrer-policy"]).toBe("no-referrer");
  });

  // Last: OpenNext clears web/.open-next before it builds.
  it("fails without the site's OpenNext config, which is what frees the build from pnpm (mutation proof)", async () => {
    const [builder] = resourcesOf(planned, "command:local:Command");
    const inputs = builder?.inputs as { create: string; dir: string; environment: Record<string, string> };
    const { SST_SERVER: _cli, ...environment } = inputs.environment;
    const dir = mkdtempSync(join(tmpdir(), "wsauth-opennext-"));
    try {
      // OpenNext's default: the build command of the package manager whose lockfile it finds.
      writeFileSync(join(dir, "open-next.config.ts"), "export default { default: {} };\n");
      const result = await run(`${inputs.create} --config-path ${join(dir, "open-next.config.ts")}`, {
        cwd: inputs.dir,
        env: cleanEnv(environment),
      });
      expect(result.status).not.toBe(0);
      expect(result.output).toMatch(/pnpm: (command )?not found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
