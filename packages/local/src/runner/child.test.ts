import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const CHILD_MODULE = fileURLToPath(new URL("./child.ts", import.meta.url));

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("child processes of the local stack", () => {
  it("do not outlive a stack process that is killed outright (SIGKILL)", async () => {
    // A stand-in for `pnpm local`: starts a long-running Node child through startChild, prints its pid.
    const script = `
      import { startChild } from ${JSON.stringify(CHILD_MODULE)};
      const child = startChild({
        name: "sleeper",
        command: process.execPath,
        args: ["-e", "setInterval(() => {}, 1000)"],
        cwd: process.cwd(),
        env: process.env,
      });
      console.log("child", child.pid);
      setInterval(() => {}, 1000);
    `;
    const stack = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      createInterface({ input: stack.stdout }).on("line", (line) => {
        const match = /^child (\d+)$/.exec(line);
        if (match?.[1]) resolve(Number(match[1]));
      });
      stack.once("exit", () => reject(new Error("the stand-in stack exited before starting its child")));
    });
    expect(isRunning(pid)).toBe(true);

    stack.kill("SIGKILL");
    await expect.poll(() => isRunning(pid), { timeout: 10_000, interval: 100 }).toBe(false);
  });
});
