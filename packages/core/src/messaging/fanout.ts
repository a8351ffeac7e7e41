import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { ConnectionRecord } from "../connection/index";
import { FANOUT } from "../constants/index";
import { DependencyError, InputError } from "../errors/index";
import { createLog, type Log } from "../logging/index";
import { describeIssue, type ServerFrame } from "../protocol/index";
import { type FanOutMarkers, hasSent, markSent } from "./fanout-markers";
import type { DeliveryReport, Messenger } from "./messenger";

/**
 * Parallel fan-out. The caller hands over pages of recipients (the registry's shards for `broadcast`;
 * any list of connections, such as a channel's subscribers, works the same way) and one frame. Up to
 * FANOUT.inlineMax recipients are sent to inline; a larger fan-out is cut into jobs of FANOUT.jobSize
 * connection ids, each handed to a dispatcher (on AWS an asynchronous invocation of the `FanOut`
 * function), and `send` resolves once every job is accepted.
 *
 * A job may run more than once (asynchronous invocations are at least once, and a failed job is
 * retried). Each job keeps a short-lived marker of the connections it has sent to and a retry skips
 * them, so a retried job does not deliver twice to the same connection.
 */

/** A recipient: its connection id, and the token expiry when known (expired ones get nothing). */
export type Recipient = Pick<ConnectionRecord, "connectionId"> & Partial<Pick<ConnectionRecord, "tokenExp">>;

/** One job: a frame and up to FANOUT.jobSize connection ids. `jobId` names it across retries. */
export const fanOutJobSchema = z.strictObject({
  jobId: z.string().min(1).max(200),
  frame: z.looseObject({ type: z.string().min(1) }),
  connectionIds: z.array(z.string().min(1).max(256)).min(1).max(FANOUT.jobSize),
});
export interface FanOutJob {
  jobId: string;
  frame: ServerFrame;
  connectionIds: string[];
}

/** Hands a job to a worker; resolves once the job is accepted (not run). */
export interface FanOutDispatcher {
  dispatch(job: FanOutJob): Promise<void>;
}

/** What the caller hears: how many recipients, how many jobs were queued, and inline deliveries. */
export interface FanOutReceipt extends DeliveryReport {
  recipients: number;
  /**
   * Jobs queued; 0 when the fan-out was sent inline (then `delivered/gone/failed` count it). When
   * only some jobs could be queued, `failed` counts the recipients of the others.
   */
  jobs: number;
}

export interface FanOutJobReport extends DeliveryReport {
  jobId: string;
  /** Connections a previous run of this job had already sent to. */
  skipped: number;
}

export interface FanOut {
  send(
    pages: AsyncIterable<readonly Recipient[]> | Iterable<readonly Recipient[]>,
    frame: ServerFrame,
  ): Promise<FanOutReceipt>;
  /** Runs one job (the `FanOut` function's work). Throws when a send failed, so the job is retried. */
  runJob(input: unknown): Promise<FanOutJobReport>;
}

export interface FanOutOptions {
  messenger: Messenger;
  /** Where jobs go; built on first use (a small fan-out never needs it). */
  dispatcher: () => FanOutDispatcher;
  markers: () => FanOutMarkers;
  inlineMax?: number;
  jobSize?: number;
  /** Jobs handed to the dispatcher at once (default FANOUT.dispatchConcurrency). */
  dispatchConcurrency?: number;
  /** Shortest time between two marker writes of a job (default FANOUT.markerIntervalMs). */
  markerIntervalMs?: number;
  /** Clock in epoch milliseconds. */
  now?: () => number;
  log?: Log;
}

export function createFanOut(options: FanOutOptions): FanOut {
  const { messenger } = options;
  const inlineMax = options.inlineMax ?? FANOUT.inlineMax;
  const jobSize = options.jobSize ?? FANOUT.jobSize;
  const dispatchConcurrency = options.dispatchConcurrency ?? FANOUT.dispatchConcurrency;
  const markerIntervalMs = options.markerIntervalMs ?? FANOUT.markerIntervalMs;
  const now = options.now ?? Date.now;
  const log = options.log ?? createLog("fanout");

  async function send(
    pages: AsyncIterable<readonly Recipient[]> | Iterable<readonly Recipient[]>,
    frame: ServerFrame,
  ): Promise<FanOutReceipt> {
    const fanOutId = randomUUID();
    const buffer: string[] = [];
    let recipients = 0;
    let jobs = 0;
    let queued = false;
    const running = new Set<Promise<void>>();
    const failures: Array<{ error: unknown; recipients: number }> = [];
    const nowSeconds = now() / 1000;

    const dispatchNext = async (connectionIds: string[]) => {
      const job: FanOutJob = { jobId: `${fanOutId}/${jobs}`, frame, connectionIds };
      jobs += 1;
      if (running.size >= dispatchConcurrency) await Promise.race(running);
      const accepted = (async () => {
        try {
          await options.dispatcher().dispatch(job);
        } catch (error) {
          failures.push({ error, recipients: connectionIds.length });
        }
      })();
      running.add(accepted);
      void accepted.finally(() => running.delete(accepted));
    };

    for await (const page of pages) {
      for (const { connectionId, tokenExp } of page) {
        // A record whose token has expired gets nothing (see Messenger.toConnections).
        if (tokenExp !== undefined && tokenExp <= nowSeconds) continue;
        buffer.push(connectionId);
        recipients += 1;
      }
      if (!queued && buffer.length > inlineMax) queued = true;
      while (queued && buffer.length >= jobSize) await dispatchNext(buffer.splice(0, jobSize));
    }
    if (!queued) {
      const report = await messenger.toConnections(
        buffer.map((connectionId) => ({ connectionId })),
        frame,
      );
      return { recipients, jobs: 0, ...report };
    }
    while (buffer.length > 0) await dispatchNext(buffer.splice(0, jobSize));
    await Promise.all(running);
    if (failures.length === jobs) {
      // Nothing was queued, so nothing will be delivered: a retry by the caller is harmless.
      throw new DependencyError(`fan-out: none of ${jobs} jobs could be queued`, { cause: failures[0]?.error });
    }
    // Some jobs are on their way: an error would invite a retry that delivers twice to their
    // recipients, so the receipt says what was queued and counts the rest as failed.
    const failed = failures.reduce((sum, failure) => sum + failure.recipients, 0);
    if (failures.length > 0) {
      log.error("fan-out: some jobs could not be queued", {
        code: "dependency_failed",
        fanOutId,
        jobs,
        notQueued: failures.length,
        failed,
        error: failures[0]?.error,
      });
    }
    log.info("fan-out queued", { fanOutId, recipients, jobs: jobs - failures.length });
    return { recipients, jobs: jobs - failures.length, delivered: 0, gone: 0, failed };
  }

  async function runJob(input: unknown): Promise<FanOutJobReport> {
    const parsed = fanOutJobSchema.safeParse(input);
    if (!parsed.success) throw new InputError("validation_failed", describeIssue(parsed.error, "job"));
    const { jobId, connectionIds } = parsed.data;
    const frame = parsed.data.frame as ServerFrame;
    const markers = options.markers();
    const progress = await markers.done(jobId, connectionIds.length);
    const positions = new Map<string, number>();
    const todo: string[] = [];
    connectionIds.forEach((connectionId, position) => {
      if (positions.has(connectionId)) return;
      positions.set(connectionId, position);
      if (!hasSent(progress, position)) todo.push(connectionId);
    });

    // Progress is written while sending: at most one marker write in flight, each carrying every send
    // that completed so far, and at most one write per markerIntervalMs (the last one goes out as soon
    // as the sends are done). A failed write fails the job (it is retried).
    let dirty = false;
    let writing: Promise<void> | undefined;
    let writeError: unknown;
    let finishing = false;
    let pause: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
    const flush = async () => {
      while (dirty && writeError === undefined) {
        dirty = false;
        const started = performance.now();
        try {
          await markers.record(jobId, progress.slice());
        } catch (error) {
          writeError = error;
        }
        const wait = started + markerIntervalMs - performance.now();
        if (!finishing && wait > 0) {
          await new Promise<void>((resolve) => {
            pause = { timer: setTimeout(resolve, wait), resolve };
          });
          pause = undefined;
        }
      }
      writing = undefined;
    };
    const report = await messenger.toConnections(
      todo.map((connectionId) => ({ connectionId })),
      frame,
      {
        onOutcome(connectionId, outcome) {
          // A gone connection needs nothing more either; a failed send is tried again on retry.
          if (outcome === "failed") return;
          const position = positions.get(connectionId);
          if (position === undefined) return;
          markSent(progress, position);
          dirty = true;
          writing ??= flush();
        },
      },
    );
    finishing = true;
    if (pause) {
      clearTimeout(pause.timer);
      pause.resolve();
    }
    await writing;
    if (dirty) await flush();
    if (writeError !== undefined) throw writeError;
    const result: FanOutJobReport = { jobId, skipped: positions.size - todo.length, ...report };
    if (report.failed > 0) {
      throw new DependencyError(`fan-out job ${jobId}: ${report.failed} sends failed; the job is retried`);
    }
    log.info("fan-out job done", { ...result });
    return result;
  }

  return { send, runJob };
}
