import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { LocalStackError } from "./errors";

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching terminal escapes (colours, cursor) is the point
const ANSI_ESCAPE = /\u001b\[[0-9;?]*[A-Za-z]/g;
const RECENT_LINES = 20;
const STOP_GRACE_MS = 5_000;

export interface ChildOptions {
  /** Shown in messages: "cognito-local", "next dev". */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Called with every output line (colours stripped), e.g. to forward it. */
  onLine?: (line: string) => void;
}

/** A child process of the stack, started in its own process group so stopping it stops its children too. */
export interface Child {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves with the first output line matching `pattern`; rejects if the child exits first. */
  waitForLine(pattern: RegExp): Promise<RegExpMatchArray>;
  /** The last lines it printed, for error reports. */
  recentOutput(): string[];
  /** Whether it has exited. */
  exited(): boolean;
  /** SIGTERM to the group, SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Preload that ends a Node child (and its group) once the stack's process is gone. */
const EXIT_WITH_PARENT = new URL("./exit-with-parent.mjs", import.meta.url).href;

export function startChild(options: ChildOptions): Child {
  // Node children get the preload; their stdin is a pipe only the stack holds (see exit-with-parent.mjs).
  const isNode = options.command === process.execPath;
  const args = isNode ? ["--import", EXIT_WITH_PARENT, ...options.args] : options.args;
  const child: ChildProcess = spawn(options.command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [isNode ? "pipe" : "ignore", "pipe", "pipe"],
    detached: true,
  });
  const recent: string[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }>();
  let exitInfo: string | undefined;
  let markExited: () => void = () => {};
  const exitedPromise = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  child.once("exit", (code, signal) => {
    exitInfo ??= signal ? `signal ${signal}` : `code ${String(code)}`;
    markExited();
  });
  // A spawn failure (missing binary) surfaces as "error", maybe without "exit"; it must not crash the process.
  child.once("error", (error) => {
    exitInfo ??= `spawn error: ${error.message}`;
    recent.push(exitInfo);
    markExited();
  });

  const onLine = (raw: string) => {
    const line = raw.replace(ANSI_ESCAPE, "");
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    options.onLine?.(line);
    for (const waiter of waiters) {
      const match = line.match(waiter.pattern);
      if (match) {
        waiters.delete(waiter);
        waiter.resolve(match);
      }
    }
  };
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine);
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine);

  const killGroup = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || exitInfo) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone: nothing to stop.
    }
  };

  return {
    name: options.name,
    pid: child.pid,
    waitForLine(pattern) {
      const seen = recent.map((line) => line.match(pattern)).find(Boolean);
      if (seen) return Promise.resolve(seen);
      return new Promise<RegExpMatchArray>((resolve, reject) => {
        const waiter = { pattern, resolve };
        waiters.add(waiter);
        void exitedPromise.then(() => {
          if (!waiters.delete(waiter)) return;
          reject(
            new LocalStackError(
              `${options.name} exited (${exitInfo}) before it was ready; last output: ${recent.slice(-5).join(" | ") || "(none)"}`,
              `run \`${[options.command, ...options.args].join(" ")}\` in ${options.cwd} to see the whole error`,
            ),
          );
        });
      });
    },
    recentOutput: () => [...recent],
    exited: () => exitInfo !== undefined,
    async stop() {
      if (exitInfo !== undefined || child.pid === undefined) return;
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), STOP_GRACE_MS);
      await exitedPromise;
      clearTimeout(timer);
      // The leader may exit before its children: make sure none of the group is left.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is empty.
      }
    },
  };
}
