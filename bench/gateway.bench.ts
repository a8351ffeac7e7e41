import { availableParallelism } from "node:os";
import { performance } from "node:perf_hooks";
import { LOAD_LIMITS, signInDemoUser, startTestStack } from "@wsauth/local/testing";
import type { BenchStack } from "./lib/bench-stack";
import { closeAll, connectMany, connectPlain, type RealtimeClient } from "./lib/clients";
import { startRawEchoServer } from "./lib/raw-server";
import type { BenchResult } from "./lib/result";
import { figure, percentile } from "./lib/stats";
import { type CpuReading, cpuSince, readCpu } from "./lib/thread-cpu";

/**
 * Echo throughput and round-trip latency with CLIENTS concurrent ping-pong clients (each keeps one
 * frame in flight): through the whole local path (frame -> route selection -> the real `$default`
 * handler -> `@connections` POST -> frame) with the handler pool (one worker per core), against the
 * same path with one handler worker (a second stack), and against a plain `ws` echo server driven by
 * the same client code. Slices of all three run interleaved; counts and latencies are summed.
 */

const CLIENTS = 50;
const ROUNDS = 4;
const SLICE_MS = 2_500;
/** A slice whose frames stop coming back ends here; its shortfall shows in the figures. */
const SLICE_GUARD_MS = 30_000;

interface SliceResult {
  count: number;
  elapsedMs: number;
  latencies: number[];
  /** CPU time of the whole process (every thread: clients, gateway, handler worker, dynalite), in µs. */
  cpuMicros: number;
  /** The same split by thread (from /proc; undefined elsewhere), in ms. */
  threads: CpuReading | undefined;
}

/** Every client sends, waits for its echo, sends again, until the slice ends. */
async function pingPong(clients: readonly RealtimeClient[], durationMs: number): Promise<SliceResult> {
  const latencies: number[] = [];
  let count = 0;
  const cpuBefore = process.cpuUsage();
  const threadsBefore = readCpu(process.pid);
  const start = performance.now();
  const loops = clients.map(
    (client, index) =>
      new Promise<void>((resolve) => {
        let sentAt = performance.now();
        let sequence = 0;
        client.keepFrames = false;
        client.onFrame = (frame) => {
          if (frame.type !== "echo") return;
          const now = performance.now();
          latencies.push(now - sentAt);
          count += 1;
          if (now - start >= durationMs) {
            client.onFrame = undefined;
            resolve();
            return;
          }
          sentAt = now;
          sequence += 1;
          client.send({ client: index, sequence });
        };
        client.send({ client: index, sequence });
      }),
  );
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(loops),
    new Promise<void>((resolve) => {
      guard = setTimeout(resolve, durationMs + SLICE_GUARD_MS);
    }),
  ]);
  clearTimeout(guard);
  for (const client of clients) client.onFrame = undefined;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    count,
    elapsedMs: performance.now() - start,
    latencies,
    cpuMicros: cpu.user + cpu.system,
    threads: cpuSince(threadsBefore, readCpu(process.pid)),
  };
}

function merge(slices: SliceResult[]) {
  const count = slices.reduce((sum, slice) => sum + slice.count, 0);
  const cpuMicros = slices.reduce((sum, slice) => sum + slice.cpuMicros, 0);
  const elapsed = slices.reduce((sum, slice) => sum + slice.elapsedMs, 0);
  const latencies = slices.flatMap((slice) => slice.latencies);
  const threads = slices.every((slice) => slice.threads)
    ? {
        mainUs: (slices.reduce((sum, slice) => sum + (slice.threads?.mainMs ?? 0), 0) * 1000) / count,
        otherUs: (slices.reduce((sum, slice) => sum + (slice.threads?.otherThreadsMs ?? 0), 0) * 1000) / count,
      }
    : undefined;
  return {
    threads,
    perSecond: (count / elapsed) * 1000,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerMessage: cpuMicros / count,
  };
}

export async function runGatewayBench(env: BenchStack, options: { rounds?: number; sliceMs?: number } = {}) {
  const rounds = options.rounds ?? ROUNDS;
  const sliceMs = options.sliceMs ?? SLICE_MS;
  const raw = await startRawEchoServer();
  const { users, stack } = env;
  const rawClients = await Promise.all(Array.from({ length: CLIENTS }, () => connectPlain(raw.url)));
  const gatewayClients = await connectMany(
    stack.outputs.webSocketUrl,
    CLIENTS,
    (index) => users[index % users.length]?.idToken ?? "",
    10,
  );
  // The same stack with a single handler worker, as the local stack ran before the pool.
  const single = await startTestStack({ quiet: true, handlerWorkers: 1, ...LOAD_LIMITS });
  const singleTokens = await Promise.all([signInDemoUser(single.outputs, 0), signInDemoUser(single.outputs, 1)]);
  const singleClients = await connectMany(
    single.outputs.webSocketUrl,
    CLIENTS,
    (index) => singleTokens[index % singleTokens.length]?.idToken ?? "",
    10,
  );
  const rawSlices: SliceResult[] = [];
  const gatewaySlices: SliceResult[] = [];
  const singleSlices: SliceResult[] = [];
  try {
    // Warm-up (JIT, handler containers, keep-alive sockets), not counted.
    await pingPong(rawClients, 300);
    await pingPong(gatewayClients, 1_000);
    await pingPong(singleClients, 1_000);
    for (let round = 0; round < rounds; round += 1) {
      rawSlices.push(await pingPong(rawClients, sliceMs));
      gatewaySlices.push(await pingPong(gatewayClients, sliceMs));
      singleSlices.push(await pingPong(singleClients, sliceMs));
    }
  } finally {
    await closeAll([...rawClients, ...gatewayClients, ...singleClients]);
    await raw.stop();
    await single.stop();
  }
  const rawFigures = merge(rawSlices);
  const gatewayFigures = merge(gatewaySlices);
  const singleFigures = merge(singleSlices);
  const workers = stack.handlers.pool().length || availableParallelism();
  const results: BenchResult[] = [
    figure({ name: `raw ws echo, ${CLIENTS} ping-pong clients`, value: rawFigures.perSecond, unit: "msg/s" }),
    figure({
      name: `gateway echo, ${CLIENTS} ping-pong clients, one handler worker`,
      value: singleFigures.perSecond,
      unit: "msg/s",
      baseline: { value: rawFigures.perSecond, name: "raw ws echo" },
    }),
    figure({
      name: `gateway echo, ${CLIENTS} ping-pong clients, handler pool of ${workers} (full local path)`,
      value: gatewayFigures.perSecond,
      unit: "msg/s",
      baseline: { value: rawFigures.perSecond, name: "raw ws echo" },
    }),
    figure({
      name: `gateway echo, handler pool of ${workers} against one worker`,
      value: gatewayFigures.perSecond,
      unit: "msg/s",
      baseline: { value: singleFigures.perSecond, name: "one handler worker" },
      minRatio: 1.6,
    }),
    figure({
      name: "gateway echo round trip p50",
      value: gatewayFigures.p50,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: rawFigures.p50, name: "raw ws p50" },
    }),
    figure({
      name: "gateway echo round trip p99",
      value: gatewayFigures.p99,
      unit: "ms",
      lowerIsBetter: true,
      baseline: { value: rawFigures.p99, name: "raw ws p99" },
    }),
    figure({ name: "raw ws echo, CPU per message (whole process)", value: rawFigures.cpuPerMessage, unit: "µs" }),
    figure({
      name: "gateway echo, CPU per message (whole local stack)",
      value: gatewayFigures.cpuPerMessage,
      unit: "µs",
      lowerIsBetter: true,
      baseline: { value: rawFigures.cpuPerMessage, name: "raw ws CPU/msg" },
    }),
  ];
  // Where the CPU goes (per message): the main thread holds the clients, the gateway, `@connections`
  // and DynamoDB; the other threads are the handler workers (and V8's helpers). A pool only helps as
  // far as the handler threads are what the one worker waits for.
  for (const [label, figures] of [
    ["one handler worker", singleFigures],
    [`handler pool of ${workers}`, gatewayFigures],
  ] as const) {
    if (!figures.threads) continue;
    results.push(
      figure({
        name: `gateway echo, ${label}: main thread CPU per message`,
        value: figures.threads.mainUs,
        unit: "µs",
      }),
      figure({
        name: `gateway echo, ${label}: other threads' CPU per message`,
        value: figures.threads.otherUs,
        unit: "µs",
      }),
    );
  }
  return results;
}
