import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { redact } from "@wsauth/core/logging";
import { type Child, LocalStackError, type Reporter, startChild } from "../runner";
import { confirmationCodeWatcher } from "./confirmation-codes";

const READY_TIMEOUT_MS = 20_000;
const READY_LINE = /Cognito Local running on (https?:\/\/\S+)/;

/** cognito-local running as a child process on an ephemeral loopback port, behind the refresh bridge. */
export interface CognitoEmulator {
  /** Where cognito-local itself listens (internal: clients use the bridge's endpoint). */
  upstream: string;
  child: Child;
  stop(): Promise<void>;
}

function cognitoLocalBin(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve("cognito-local/package.json")), "lib", "bin", "start.js");
  } catch (error) {
    throw new LocalStackError("cognito-local is not installed", "run `pnpm install` at the repository root", {
      cause: error,
    });
  }
}

/**
 * Starts cognito-local with its data under `dataDir/.cognito` (it always uses `.cognito` in its working
 * directory). `issuerDomain` is written to its config so the `iss` of every token is the public
 * (bridge) endpoint the authorizer is told about, not cognito-local's internal port.
 */
export async function startCognitoEmulator(options: {
  dataDir: string;
  issuerDomain: string;
  reporter: Reporter;
}): Promise<CognitoEmulator> {
  const bin = cognitoLocalBin();
  const configDir = join(options.dataDir, ".cognito");
  await mkdir(configDir, { recursive: true });
  await writeFile(
    join(configDir, "config.json"),
    `${JSON.stringify({ TokenConfig: { IssuerDomain: options.issuerDomain } }, null, 2)}\n`,
  );
  const watchForCodes = confirmationCodeWatcher(({ destination, code }) =>
    options.reporter.info(`confirmation code for ${destination}: ${code}`),
  );
  const child = startChild({
    name: "cognito-local",
    command: process.execPath,
    args: [bin],
    cwd: options.dataDir,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: "0",
      HOST: "127.0.0.1",
      NO_COLOR: "1",
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
    },
    // Its own request errors are worth a line; routine request logs are not. Tokens never reach the terminal.
    onLine: (line) => {
      watchForCodes(line);
      if (/\b(ERROR|FATAL)\b/.test(line)) options.reporter.warn(`cognito-local: ${redact(line) as string}`);
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const match = await Promise.race([
      child.waitForLine(READY_LINE),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new LocalStackError(
                `cognito-local did not start within ${READY_TIMEOUT_MS / 1000} s; last output: ${child.recentOutput().slice(-3).join(" | ")}`,
                `delete ${configDir} to reset its state, then retry`,
              ),
            ),
          READY_TIMEOUT_MS,
        );
      }),
    ]);
    return { upstream: match[1] ?? "", child, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
