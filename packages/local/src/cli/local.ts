/**
 * `pnpm local`: starts the whole local stack (Cognito emulator with demo users, dynalite, the WebSocket
 * gateway running the real handlers, the Next.js site), prints where everything is, and stops it all
 * cleanly on Ctrl-C / SIGTERM (every socket gets its `$disconnect`; exit code 0).
 *
 * Flags (each port also from its env var; flag wins; 0 = any free port):
 *   --no-web               leave the site out (outputs.json then has webUrl "")
 *   --web-port <n>         WSAUTH_WEB_PORT      (default 3000)
 *   --gateway-port <n>     WSAUTH_GATEWAY_PORT  (default 3001)
 *   --cognito-port <n>     WSAUTH_COGNITO_PORT  (default 9229)
 *   --dynamo-port <n>      WSAUTH_DYNAMO_PORT   (default 8000)
 *   --state-dir <dir>      WSAUTH_STATE_DIR     (default <repo>/.local)
 *   --allow-origin <url>   WSAUTH_ALLOWED_ORIGINS (comma-separated) another browser origin that may
 *                          use the gateway and Cognito besides the site (repeatable)
 *   --no-watch             do not reload handlers on change
 *   --handler-workers <n>  handler worker threads (default: one per core)
 *   --quiet                only warnings and errors
 */
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { ADMIN_GROUP, LOCAL, type LocalOutputs } from "@wsauth/core/constants";
import { DEMO_USERS } from "../cognito";
import { consoleReporter, describeError, LocalStackError } from "../runner";
import {
  describeLeftover,
  type LocalStack,
  outputsPath,
  PORT_ROLES,
  type PortName,
  REPO_ROOT,
  startLocalStack,
} from "../stack";

// This tool runs on the developer's Node (20 or later; deployed functions use a current Lambda runtime):
// the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const USAGE = [
  "usage: pnpm local [--no-web] [--<web|gateway|cognito|dynamo>-port n] [--state-dir dir] [--allow-origin url] [--no-watch] [--handler-workers n] [--quiet]",
  ...(Object.keys(PORT_ROLES) as PortName[]).map(
    (name) =>
      `  ${PORT_ROLES[name].flag} / ${PORT_ROLES[name].envVar}: ${PORT_ROLES[name].role}, default ${LOCAL.ports[name]}`,
  ),
  "  --state-dir / WSAUTH_STATE_DIR: state and outputs.json, default <repo>/.local",
  "  --allow-origin / WSAUTH_ALLOWED_ORIGINS: another browser origin allowed besides the site's (e.g. your own front end)",
].join("\n");

/** A browser origin as browsers send it (`scheme://host[:port]`), or a clear error. */
function parseOrigin(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new LocalStackError(`invalid origin "${raw}"`, "pass it as scheme://host[:port], e.g. http://localhost:5173");
  }
  if (url.origin === "null" || url.origin !== raw.replace(/\/$/, "")) {
    throw new LocalStackError(`invalid origin "${raw}"`, "pass only scheme://host[:port], e.g. http://localhost:5173");
  }
  return url.origin;
}

function parsePort(name: PortName, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    const role = PORT_ROLES[name];
    throw new LocalStackError(
      `invalid ${role.role} port "${raw}"`,
      `pass a number from 0 to 65535 with ${role.flag} or ${role.envVar}`,
    );
  }
  return port;
}

function readOptions(argv: string[]) {
  // `pnpm local -- --flag` may hand us the separator itself.
  const args = argv[0] === "--" ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      "no-web": { type: "boolean", default: false },
      "web-port": { type: "string" },
      "gateway-port": { type: "string" },
      "cognito-port": { type: "string" },
      "dynamo-port": { type: "string" },
      "state-dir": { type: "string" },
      "allow-origin": { type: "string", multiple: true },
      "no-watch": { type: "boolean", default: false },
      "handler-workers": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const ports: Partial<Record<PortName, number>> = {};
  for (const name of Object.keys(PORT_ROLES) as PortName[]) {
    const port = parsePort(name, values[`${name}-port`] ?? process.env[PORT_ROLES[name].envVar]);
    if (port !== undefined) ports[name] = port;
  }
  const rawWorkers = values["handler-workers"];
  const handlerWorkers = rawWorkers === undefined ? undefined : Number(rawWorkers);
  if (
    handlerWorkers !== undefined &&
    (!Number.isInteger(handlerWorkers) || handlerWorkers < 1 || handlerWorkers > 64)
  ) {
    throw new LocalStackError(
      `invalid handler worker count "${rawWorkers}"`,
      "pass a number from 1 to 64 with --handler-workers",
    );
  }
  return {
    help: values.help,
    handlerWorkers,
    web: !values["no-web"],
    watch: !values["no-watch"],
    quiet: values.quiet,
    ports,
    stateDir: values["state-dir"] ?? (process.env.WSAUTH_STATE_DIR || undefined),
    allowedOrigins: (values["allow-origin"] ?? (process.env.WSAUTH_ALLOWED_ORIGINS ?? "").split(","))
      .map((origin) => origin.trim())
      .filter(Boolean)
      .map(parseOrigin),
  };
}

function summary(outputs: LocalOutputs, outputsFile: string): string {
  const admins = new Set(DEMO_USERS.filter((user) => user.groups.includes(ADMIN_GROUP)).map((user) => user.username));
  const logins = outputs.demoUsers.map(
    ({ username, password }) => `${username} / ${password}${admins.has(username) ? ` (${ADMIN_GROUP})` : ""}`,
  );
  const shownFile = outputsFile.startsWith(REPO_ROOT) ? relative(REPO_ROOT, outputsFile) : outputsFile;
  return [
    "local stack is up",
    `  site         ${outputs.webUrl || "(not started: --no-web)"}`,
    `  websocket    ${outputs.webSocketUrl}`,
    `  management   ${outputs.managementEndpoint}`,
    `  cognito      ${outputs.cognitoEndpoint}  (pool ${outputs.userPoolId}, client ${outputs.userPoolClientId})`,
    `  dynamodb     ${outputs.dynamoEndpoint}  (table ${outputs.tableName}, region ${outputs.region})`,
    `  demo logins  ${logins.join("\n               ")}`,
    `  outputs      ${shownFile}`,
    "press Ctrl-C to stop",
  ].join("\n");
}

async function main(): Promise<number> {
  const reporter = consoleReporter();
  // Nothing a handler or a dependency does may take the runner down; report it and keep serving.
  process.on("uncaughtException", (error) => reporter.error(`unexpected: ${describeError(error)}`));
  process.on("unhandledRejection", (error) => reporter.error(`unexpected: ${describeError(error)}`));

  let options: ReturnType<typeof readOptions>;
  try {
    options = readOptions(process.argv.slice(2));
  } catch (error) {
    reporter.error(error instanceof LocalStackError ? describeError(error) : `${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const quietReporter = consoleReporter({ quiet: options.quiet });

  let stack: LocalStack | undefined;
  let stopRequested = false;
  let stopping: Promise<number> | undefined;
  const shutdown = (signal: string): Promise<number> => {
    stopRequested = true;
    if (!stack) return Promise.resolve(0);
    stopping ??= (async () => {
      quietReporter.info(`${signal}: stopping (every socket gets $disconnect)…`);
      try {
        const { leftover } = await (stack as LocalStack).stop();
        quietReporter.info(`stopped; ${describeLeftover(leftover)} row(s) left in the registry`);
        return 0;
      } catch (error) {
        reporter.error(`stopping failed: ${describeError(error)}`);
        return 1;
      }
    })();
    return stopping;
  };

  // Ctrl-C reaches this process twice: from the terminal (the whole process group) and forwarded by the
  // package manager that started it. Only a signal that comes later than that is a second request.
  const DUPLICATE_SIGNAL_WINDOW_MS = 1_000;
  let firstSignalAt = 0;
  const exitOnSignal = new Promise<number>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        const now = Date.now();
        if (firstSignalAt && now - firstSignalAt < DUPLICATE_SIGNAL_WINDOW_MS) return;
        firstSignalAt ||= now;
        if (stopping) {
          reporter.warn(`${signal} again while stopping: forcing exit`);
          process.exit(1);
        }
        if (stack) void shutdown(signal).then(resolve);
        else if (stopRequested) {
          reporter.warn(`${signal} again while starting: forcing exit`);
          process.exit(1);
        } else stopRequested = true;
      });
    }
  });

  try {
    stack = await startLocalStack({
      web: options.web,
      watch: options.watch,
      quiet: options.quiet,
      ports: options.ports,
      allowedOrigins: options.allowedOrigins,
      reporter: quietReporter,
      ...(options.stateDir ? { stateDir: options.stateDir } : {}),
      ...(options.handlerWorkers !== undefined ? { handlerWorkers: options.handlerWorkers } : {}),
    });
  } catch (error) {
    reporter.error(describeError(error));
    return 1;
  }
  // A signal that arrived while starting: stop now that there is something to stop.
  if (stopRequested) return shutdown("signal during startup");
  quietReporter.info(summary(stack.outputs, outputsPath(options.stateDir)));
  return Promise.race([exitOnSignal, parentGone(() => shutdown("parent process exited"))]);
}

const PARENT_POLL_MS = 500;

/**
 * pnpm does not pass SIGTERM on to the script it runs (its `sh -c` drops it): when the launcher goes
 * away we are re-parented, and stop the stack instead of running on, orphaned, holding the ports.
 */
function parentGone(stop: () => Promise<number>): Promise<number> {
  const parent = process.ppid;
  return new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(timer);
      void stop().then(resolve);
    }, PARENT_POLL_MS);
    timer.unref();
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[wsauth] error: ${describeError(error)}\n`);
    process.exit(1);
  },
);
