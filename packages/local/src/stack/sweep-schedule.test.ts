import { setTimeout as sleep } from "node:timers/promises";
import { SWEEP } from "@wsauth/core/constants";
import { describe, expect, it } from "vitest";
import type { Reporter } from "../runner";
import { scheduleSweep } from "./sweep-schedule";

const silent: Reporter = { info: () => {}, warn: () => {}, error: () => {} };

describe("the local stack's sweep schedule", () => {
  it("invokes the sweep on its interval with the cron's event and the function's timeout, one run at a time", async () => {
    let running = 0;
    let overlapping = 0;
    const runs: Array<{ event: Record<string, unknown>; functionName: string; remainingMs: number }> = [];
    const schedule = scheduleSweep({
      enabled: true,
      intervalMs: 20,
      reporter: silent,
      sweep: async (event, context) => {
        running += 1;
        if (running > 1) overlapping += 1;
        runs.push({ event, functionName: context.functionName, remainingMs: context.getRemainingTimeInMillis() });
        await sleep(50);
        running -= 1;
        return { scanned: 0 };
      },
    });
    await sleep(300);
    await schedule.stop();
    const count = runs.length;
    expect(count).toBeGreaterThanOrEqual(2);
    expect(overlapping).toBe(0);
    expect(running).toBe(0);
    expect(runs[0]?.event).toMatchObject({ source: "aws.events", "detail-type": "Scheduled Event" });
    expect(runs[0]?.functionName).toBe("wsauth-local-sweep");
    expect(runs[0]?.remainingMs).toBeGreaterThan(SWEEP.timeoutSeconds * 1000 - 1000);
    await sleep(100);
    expect(runs.length).toBe(count);
  });

  it("runs only on demand when disabled, reports a failed run and keeps its schedule", async () => {
    const warnings: string[] = [];
    let calls = 0;
    const disabled = scheduleSweep({
      enabled: false,
      intervalMs: 10,
      reporter: silent,
      sweep: async () => ({ run: ++calls }),
    });
    await sleep(60);
    expect(calls).toBe(0);
    expect(await disabled.runNow()).toEqual({ run: 1 });
    await disabled.stop();

    let attempts = 0;
    const failing = scheduleSweep({
      enabled: true,
      intervalMs: 15,
      reporter: { ...silent, warn: (line) => warnings.push(line) },
      sweep: async () => {
        attempts += 1;
        throw new Error("table unreachable");
      },
    });
    await sleep(100);
    await failing.stop();
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toMatch(/^scheduled sweep failed: .*table unreachable/);
  });
});
