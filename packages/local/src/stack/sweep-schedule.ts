import { randomUUID } from "node:crypto";
import { JOB_HANDLERS, LOCAL, SWEEP } from "@wsauth/core/constants";
import type { LambdaHandler } from "../gateway";
import { localLambdaContext } from "../handlers";
import { describeError, type Reporter } from "../runner";

/** The sweep on a schedule, as the deployed cron runs it. */
export interface SweepSchedule {
  /** Runs the sweep now (waiting for a run in progress first); resolves its report. */
  runNow(): Promise<unknown>;
  /** No further runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/** The event EventBridge Scheduler hands the function of a `rate(...)` cron. */
function scheduledEvent() {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: LOCAL.accountId,
    time: new Date().toISOString(),
    region: LOCAL.region,
    resources: [],
    detail: {},
  };
}

/**
 * Invokes the `Sweep` handler through the handler pool every `intervalMs` (SWEEP.intervalMs), with the
 * scheduled event and the function's timeout, as the deployed cron does: rows and counts left by
 * `$disconnect`s that never came are cleaned up locally too. One run at a time; a failed run is
 * reported in one line (the handler has logged why) and the next one runs on time.
 */
export function scheduleSweep(options: {
  sweep: LambdaHandler;
  reporter: Reporter;
  /** Enables the timer; without it, only `runNow` sweeps. */
  enabled: boolean;
  intervalMs?: number;
}): SweepSchedule {
  let running: Promise<unknown> | undefined;
  let stopped = false;
  const run = async (): Promise<unknown> => {
    await running?.catch(() => {});
    const current = options.sweep(
      scheduledEvent(),
      localLambdaContext(JOB_HANDLERS.sweep, SWEEP.timeoutSeconds * 1000),
    );
    running = current;
    try {
      return await current;
    } finally {
      if (running === current) running = undefined;
    }
  };
  const timer = options.enabled
    ? setInterval(() => {
        if (stopped || running) return;
        run().catch((error: unknown) => options.reporter.warn(`scheduled sweep failed: ${describeError(error)}`));
      }, options.intervalMs ?? SWEEP.intervalMs)
    : undefined;
  timer?.unref();
  return {
    runNow: run,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running?.catch(() => {});
    },
  };
}
