import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type LocalOutputs, SUBPROTOCOL } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type OccupiedPort, occupyPort, signInDemoUser } from "../testing";

/** `pnpm local` runs exactly this command (packages/local `start` script). */
const CLI = fileURLToPath(new URL("./local.ts", import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL("../../", import.meta.url));

function runCli(args: string[], env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", CLI, ...args], {
    cwd: PACKAGE_DIR,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += String(chunk);
  });
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

/** Pids of processes whose working directory is `dir` or below it (Linux /proc). */
async function processesIn(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => "");
    if (cwd === dir || cwd.startsWith(`${dir}/`)) pids.push(Number(entry));
  }
  return pids;
}

const ephemeralPorts = { WSAUTH_GATEWAY_PORT: "0", WSAUTH_COGNITO_PORT: "0", WSAUTH_DYNAMO_PORT: "0" };

describe("pnpm local (the CLI process)", () => {
  let stateDir: string;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "wsauth-cli-"));
  });
  afterAll(() => rm(stateDir, { recursive: true, force: true }));

  it.each(["SIGINT", "SIGTERM"] as const)(
    "%s: every socket gets $disconnect, no row, file or process is left, exit 0",
    async (signal) => {
      const cli = runCli(["--no-web"], { ...ephemeralPorts, WSAUTH_STATE_DIR: stateDir });
      const outputsFile = join(stateDir, "outputs.json");
      // Wait for readiness the way tools do: outputs.json appears only once everything answers.
      while (!existsSync(outputsFile)) {
        if (cli.child.exitCode !== null) throw new Error(`the CLI exited early: ${cli.output().stderr}`);
        await sleep(100);
      }
      const outputs = JSON.parse(await readFile(outputsFile, "utf8")) as LocalOutputs;
      expect(cli.output().stdout).toContain(outputs.webSocketUrl);
      expect(cli.output().stdout).toContain(outputs.demoUsers[0]?.username);

      const { idToken } = await signInDemoUser(outputs, 0);
      const socket = new WebSocket(outputs.webSocketUrl, [SUBPROTOCOL, idToken]);
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      });
      const closed = new Promise<number>((resolve) => socket.once("close", (code) => resolve(code)));
      // Subscribed with presence: its subscription and presence rows go with its `$disconnect` too.
      const subscribed = new Promise<void>((resolve) => socket.once("message", () => resolve()));
      socket.send(JSON.stringify({ action: "subscribe", channel: "presence/shutdown" }));
      await subscribed;

      // While it runs, cognito-local is one of them (so the check after the stop can see a leftover).
      expect(await processesIn(stateDir)).not.toEqual([]);
      cli.child.kill(signal);
      expect(await cli.exited).toBe(0);
      expect(await closed).toBe(1001);
      expect(cli.output().stdout).toContain(
        "stopped; 0 connection, 0 subscription and 0 presence row(s) left in the registry",
      );
      expect(existsSync(outputsFile)).toBe(false);
      // The emulators' child processes (cognito-local runs in the state dir) are gone too.
      expect(await processesIn(stateDir)).toEqual([]);
      await expect(fetch(outputs.cognitoEndpoint)).rejects.toThrow();
    },
  );

  describe("with a port in use", () => {
    let busy: OccupiedPort;
    let busyPort: number;
    beforeAll(async () => {
      busy = await occupyPort();
      busyPort = busy.port;
    });
    afterAll(() => busy.release());

    it("exits 1 with one line naming the port and the flag that moves it", async () => {
      const cli = runCli(["--no-web", "--dynamo-port", String(busyPort)], {
        ...ephemeralPorts,
        WSAUTH_STATE_DIR: stateDir,
      });
      expect(await cli.exited).toBe(1);
      const errors = cli
        .output()
        .stderr.split("\n")
        .filter((line) => line.startsWith("[wsauth] error:"));
      expect(errors).toEqual([
        `[wsauth] error: port ${busyPort} (DynamoDB (dynalite)) is already in use (fix: stop whatever listens on ${busyPort} or pick another port with --dynamo-port <port> or WSAUTH_DYNAMO_PORT=<port>)`,
      ]);
    });
  });

  it("rejects a bad port value with exit code 2", async () => {
    const cli = runCli(["--no-web", "--gateway-port", "http"], { WSAUTH_STATE_DIR: stateDir });
    expect(await cli.exited).toBe(2);
    expect(cli.output().stderr).toContain('invalid WebSocket gateway port "http"');
  });
});
