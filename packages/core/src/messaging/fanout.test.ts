import { describe, expect, it } from "vitest";
import { DependencyError, InputError } from "../errors/index";
import type { Log } from "../logging/index";
import type { ServerFrame } from "../protocol/index";
import { createFanOut, type FanOutJob } from "./fanout";
import { emptyProgress, type FanOutMarkers, hasSent, markSent } from "./fanout-markers";
import type { DeliveryReport, Messenger, SendOptions } from "./messenger";

// Pure logic of the fan-out with fakes: where it cuts jobs, what it skips, when it throws. The real
// path (route -> Lambda Invoke -> FanOut in the handler pool -> @connections) is covered on the local
// stack by test/deploy/usage.test.ts, test/cost and test/faults/fanout-kill.test.ts.

const silent: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
const frame: ServerFrame = { type: "pong" };
const NOW = 1_700_000_000_000;

function fakeMessenger(outcomeOf: (id: string) => keyof DeliveryReport = () => "delivered") {
  const sent: string[] = [];
  const messenger = {
    async toConnections(connections: readonly { connectionId: string }[], _frame: ServerFrame, options?: SendOptions) {
      const report: DeliveryReport = { delivered: 0, gone: 0, failed: 0 };
      for (const { connectionId } of connections) {
        sent.push(connectionId);
        const outcome = outcomeOf(connectionId);
        report[outcome] += 1;
        options?.onOutcome?.(connectionId, outcome);
      }
      return report;
    },
  } as unknown as Messenger;
  return { messenger, sent };
}

function fakeMarkers(initial: Record<string, number[]> = {}) {
  const rows = new Map(Object.entries(initial).map(([jobId, positions]) => [jobId, new Set(positions)]));
  let writes = 0;
  const markers: FanOutMarkers = {
    async done(jobId, size) {
      const progress = emptyProgress(size);
      for (const position of rows.get(jobId) ?? []) markSent(progress, position);
      return progress;
    },
    async record(jobId, progress) {
      writes += 1;
      const row = new Set<number>();
      for (let position = 0; position < progress.length * 8; position++) {
        if (hasSent(progress, position)) row.add(position);
      }
      // A record replaces the previous one and must never drop a position it held.
      for (const position of rows.get(jobId) ?? []) expect(row.has(position)).toBe(true);
      rows.set(jobId, row);
    },
  };
  return { markers, rows, writes: () => writes };
}

const recipients = (count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => ({ connectionId: `c${from + index}`, tokenExp: NOW / 1000 + 60 }));

/** A fan-out with an inline threshold of 10 and jobs of 4, recording what it sends and queues. */
function recordingFanOut() {
  const { messenger, sent } = fakeMessenger();
  const dispatched: FanOutJob[] = [];
  const fanOut = createFanOut({
    messenger,
    dispatcher: () => ({ dispatch: async (job) => void dispatched.push(job) }),
    markers: () => fakeMarkers().markers,
    inlineMax: 10,
    jobSize: 4,
    now: () => NOW,
    log: silent,
  });
  return { fanOut, sent, dispatched };
}

describe("fan-out", () => {
  it("sends inline up to the threshold: no job is queued", async () => {
    const { fanOut, sent, dispatched } = recordingFanOut();
    const receipt = await fanOut.send([recipients(6), recipients(4, 6)], frame);
    expect(receipt).toEqual({ recipients: 10, jobs: 0, delivered: 10, gone: 0, failed: 0 });
    expect(dispatched).toEqual([]);
    expect(sent).toHaveLength(10);
  });

  it("cuts a larger fan-out into jobs covering every recipient once, skipping expired tokens", async () => {
    const { fanOut, sent, dispatched } = recordingFanOut();
    const expired = { connectionId: "old", tokenExp: NOW / 1000 - 1 };
    const receipt = await fanOut.send([recipients(7), [expired, ...recipients(6, 7)]], frame);
    expect(receipt).toEqual({ recipients: 13, jobs: 4, delivered: 0, gone: 0, failed: 0 });
    expect(sent).toEqual([]);
    const ids = dispatched.flatMap((job) => job.connectionIds);
    expect(ids.sort()).toEqual(
      recipients(13)
        .map((r) => r.connectionId)
        .sort(),
    );
    expect(dispatched.every((job) => job.connectionIds.length <= 4)).toBe(true);
    expect(new Set(dispatched.map((job) => job.jobId)).size).toBe(4);
  });

  it("fails when a job cannot be queued", async () => {
    const fanOut = createFanOut({
      messenger: fakeMessenger().messenger,
      dispatcher: () => ({
        dispatch: async () => {
          throw new Error("throttled");
        },
      }),
      markers: () => fakeMarkers().markers,
      inlineMax: 2,
      jobSize: 2,
      now: () => NOW,
      log: silent,
    });
    await expect(fanOut.send([recipients(5)], frame)).rejects.toBeInstanceOf(DependencyError);
  });

  it("answers with what was queued when only some jobs could be queued (a retry would deliver twice)", async () => {
    let calls = 0;
    const logged: string[] = [];
    const fanOut = createFanOut({
      messenger: fakeMessenger().messenger,
      dispatcher: () => ({
        dispatch: async () => {
          calls += 1;
          if (calls === 2) throw new Error("throttled");
        },
      }),
      markers: () => fakeMarkers().markers,
      inlineMax: 2,
      jobSize: 2,
      dispatchConcurrency: 1,
      now: () => NOW,
      log: { ...silent, error: (message) => void logged.push(message) },
    });
    const receipt = await fanOut.send([recipients(5)], frame);
    expect(receipt).toEqual({ recipients: 5, jobs: 2, delivered: 0, gone: 0, failed: 2 });
    expect(logged).toEqual(["fan-out: some jobs could not be queued"]);
  });

  it("a retried job skips what it already sent; a failed send is recorded as not sent and fails the job", async () => {
    const { messenger, sent } = fakeMessenger((id) => (id === "c3" ? "failed" : id === "c4" ? "gone" : "delivered"));
    const store = fakeMarkers({ "f/0": [0, 1] });
    const fanOut = createFanOut({
      messenger,
      dispatcher: () => ({ dispatch: async () => {} }),
      markers: () => store.markers,
      log: silent,
    });
    const job = { jobId: "f/0", frame, connectionIds: ["c0", "c1", "c2", "c3", "c4"] };
    await expect(fanOut.runJob(job)).rejects.toBeInstanceOf(DependencyError);
    expect(sent).toEqual(["c2", "c3", "c4"]);
    expect([...(store.rows.get("f/0") ?? [])].sort()).toEqual([0, 1, 2, 4]);
    // The retry sends only to the one that failed.
    sent.length = 0;
    await expect(fanOut.runJob(job)).rejects.toBeInstanceOf(DependencyError);
    expect(sent).toEqual(["c3"]);
  });

  it("rejects a malformed job as bad input", async () => {
    const fanOut = createFanOut({
      messenger: fakeMessenger().messenger,
      dispatcher: () => ({ dispatch: async () => {} }),
      markers: () => fakeMarkers().markers,
      log: silent,
    });
    await expect(fanOut.runJob({ jobId: "x", connectionIds: [] })).rejects.toBeInstanceOf(InputError);
  });
});
