import { type ChildProcess, execFile, fork } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { createConnectionStore } from "@wsauth/core/connection";
import { FANOUT, ROUTE, SUBPROTOCOL } from "@wsauth/core/constants";
import { localDynamoClient } from "@wsauth/local/dynamo";
import { LOAD_LIMITS, signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import WebSocket from "ws";
import { startTcpRelay, type TcpRelay } from "../test/helpers/tcp-relay";
import { lineChart } from "./lib/chart";
import type { InlineTask } from "./lib/inline-broadcast";
import type { BenchResult } from "./lib/result";
import type { FarmCommand, FarmReply } from "./lib/socket-farm";
import { figure } from "./lib/stats";
import { cpuSince, readCpu } from "./lib/thread-cpu";

/**
 * CPU time of one broadcast: the gateway process's main thread (gateway, `@connections`, relay,
 * DynamoDB emulator), its other threads (handler workers, the inline sender, V8's helpers), and the
 * socket farm.
 */
interface StackCpu {
  mainThreadMs: number;
  otherThreadsMs: number;
  farmMs: number;
}
const totalMs = (cpu: StackCpu) => cpu.mainThreadMs + cpu.otherThreadsMs + cpu.farmMs;

/**
 * Fan-out at scale: broadcast to up to 10,000 live sockets with an emulated 10 ms round trip on every
 * `@connections` request (a relay in front of the management API), through the parallel fan-out
 * (the `broadcast` route queuing FanOut jobs into the handler pool) and through the inline path (one
 * sender walking the registry with the Messenger's 16 sends in flight), in the same run, at each size.
 * The sockets live in a separate process (`socket-farm.ts`); each figure is the time from the request
 * until every socket has the frame. Also: CPU per `PostToConnection` (SDK defaults against the
 * Messenger's client), and the projected time on AWS, where every FanOut worker has its own CPU.
 */

const SIZES = [1_000, 2_500, 5_000, 10_000] as const;
const RTT_MS = 10;
const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Assumed AWS latencies for the projection (in-region calls from Lambda). */
const AWS_ASSUMPTIONS = {
  /** One DynamoDB Query page of the registry walk. */
  queryMs: 10,
  /** One asynchronous Invoke accepted (the route queues 16 at once). */
  invokeMs: 25,
  /** From an accepted event to the FanOut handler running on a warm worker. */
  asyncStartMs: 50,
} as const;

interface Farm {
  send(command: FarmCommand): void;
  next(kind: FarmReply["kind"]): Promise<FarmReply>;
  child: ChildProcess;
}

function startFarm(): Farm {
  const child = fork(new URL("./lib/socket-farm.ts", import.meta.url), [], {
    execArgv: [
      "--import",
      "tsx",
      ...(process.env.WSAUTH_BENCH_PROFILE_DIR
        ? ["--cpu-prof", `--cpu-prof-dir=${process.env.WSAUTH_BENCH_PROFILE_DIR}`]
        : []),
    ],
    env: { ...process.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const queue: FarmReply[] = [];
  const waiters: Array<{ kind: string; resolve: (reply: FarmReply) => void; reject: (error: Error) => void }> = [];
  child.on("message", (reply: FarmReply) => {
    const index = waiters.findIndex((waiter) => waiter.kind === reply.kind || reply.kind === "error");
    const waiter = index >= 0 ? waiters.splice(index, 1)[0] : undefined;
    if (!waiter) queue.push(reply);
    else if (reply.kind === "error") waiter.reject(new Error(`socket farm: ${reply.message}`));
    else waiter.resolve(reply);
  });
  return {
    child,
    send: (command) => child.send(command),
    next: (kind) =>
      new Promise((resolve, reject) => {
        const index = queue.findIndex((reply) => reply.kind === kind);
        if (index >= 0) resolve(queue.splice(index, 1)[0] as FarmReply);
        else waiters.push({ kind, resolve, reject });
      }),
  };
}

function startInlineSender(task: InlineTask): Promise<Worker> {
  const worker = new Worker(new URL("./lib/ts-worker.mjs", import.meta.url), {
    workerData: { entry: new URL("./lib/inline-broadcast.ts", import.meta.url).href, task },
  });
  return new Promise((resolve, reject) => {
    worker.once("message", () => resolve(worker));
    worker.once("error", reject);
  });
}

async function perPostCpu(endpoint: string, connectionIds: string[]) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      fileURLToPath(new URL("./lib/post-cpu.ts", import.meta.url)),
      JSON.stringify({ endpoint, connectionIds, postsPerSlice: 1_000, slices: 4 }),
    ],
    { cwd: ROOT, env: process.env, maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { defaults: number; messenger: number };
}

export async function runScaleBench(options: { sizes?: readonly number[]; workers?: number } = {}) {
  const sizes = options.sizes ?? SIZES;
  let relay: TcpRelay | undefined;
  const stack: TestStack = await startTestStack({
    quiet: true,
    ...LOAD_LIMITS,
    ...(options.workers ? { handlerWorkers: options.workers } : {}),
    routeDependencies: async (direct) => {
      const management = new URL(direct.managementEndpoint);
      relay = await startTcpRelay({ host: management.hostname, port: Number(management.port) }, { delayMs: RTT_MS });
      return { ...direct, managementEndpoint: `${relay.endpoint}${management.pathname}` };
    },
  });
  const farm = startFarm();
  const results: BenchResult[] = [];
  const points: Array<{
    size: number;
    parallel: number;
    inline: number;
    jobs: number;
    answered: number;
    parallelCpu: StackCpu | undefined;
    inlineCpu: StackCpu | undefined;
  }> = [];
  /** CPU of the whole local stack (this process's threads and the socket farm) from now until called. */
  const cpuMeter = () => {
    const start = { stack: readCpu(process.pid), farm: readCpu(farm.child.pid ?? -1) };
    return (): StackCpu | undefined => {
      const stack = cpuSince(start.stack, readCpu(process.pid));
      const farmCpu = cpuSince(start.farm, readCpu(farm.child.pid ?? -1));
      if (!stack || !farmCpu) return undefined;
      return {
        mainThreadMs: stack.mainMs,
        otherThreadsMs: stack.otherThreadsMs,
        farmMs: farmCpu.mainMs + farmCpu.otherThreadsMs,
      };
    };
  };
  let inline: Worker | undefined;
  let admin: WebSocket | undefined;
  try {
    if (!relay) throw new Error("the management API relay did not start");
    const management = new URL(stack.outputs.managementEndpoint);
    const delayed = `${relay.endpoint}${management.pathname}`;
    const [aliceTokens, bobTokens] = await Promise.all([
      signInDemoUser(stack.outputs, 0),
      signInDemoUser(stack.outputs, 1),
    ]);
    // The admin's own connection is one of the recipients; the farm holds the rest.
    admin = new WebSocket(stack.outputs.webSocketUrl, [SUBPROTOCOL, aliceTokens.idToken]);
    const adminFrames: Array<{ type: string; jobs?: number }> = [];
    admin.on("message", (data) => adminFrames.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      admin?.once("open", () => resolve());
      admin?.once("error", reject);
    });
    inline = await startInlineSender({
      endpoint: delayed,
      dynamoEndpoint: stack.outputs.dynamoEndpoint,
      tableName: stack.outputs.tableName,
    });
    const inlineWorker = inline;
    const adminSocket = admin;
    let runs = 0;

    /** Parallel fan-out: the route answers with the receipt, the jobs run in the handler pool. */
    const parallelBroadcast = async (run: string) => {
      farm.send({ cmd: "expect", run });
      const before = adminFrames.length;
      const start = performance.now();
      let answered = Number.NaN;
      const receipt = new Promise<{ jobs?: number }>((resolve) => {
        const check = () => {
          const found = adminFrames.slice(before).find((frame) => frame.type === "broadcasted");
          if (found) {
            answered = performance.now() - start;
            resolve(found);
          } else setTimeout(check, 1);
        };
        check();
      });
      adminSocket.send(JSON.stringify({ action: ROUTE.broadcast, data: { run } }));
      await farm.next("received");
      const elapsed = performance.now() - start;
      const { jobs = 0 } = await receipt;
      await stack.handlers.asyncSettled();
      return { elapsed, answered, jobs };
    };

    /** Inline: one sender, same relay, same sockets. */
    const inlineBroadcast = async (run: string) => {
      farm.send({ cmd: "expect", run });
      const start = performance.now();
      const done = new Promise<{ ok: boolean; error?: string }>((resolve) => inlineWorker.once("message", resolve));
      inlineWorker.postMessage({ run });
      await farm.next("received");
      const elapsed = performance.now() - start;
      const outcome = await done;
      if (!outcome.ok) throw new Error(`inline broadcast failed: ${outcome.error}`);
      return elapsed;
    };

    for (const size of sizes) {
      farm.send({ cmd: "open", count: size - 1, url: stack.outputs.webSocketUrl, token: bobTokens.idToken });
      const opened = await farm.next("opened");
      if (opened.kind !== "opened" || opened.total !== size - 1)
        throw new Error(`the farm opened ${JSON.stringify(opened)}`);

      if (runs === 0) {
        // Warm both paths once (module loads, clients, JIT); not counted.
        await parallelBroadcast(`warm${runs++}`);
        await inlineBroadcast(`warm${runs++}`);
      }
      const parallelCpu = cpuMeter();
      const { elapsed: parallel, answered, jobs } = await parallelBroadcast(`p${runs++}`);
      const parallelUsage = parallelCpu();
      const inlineCpu = cpuMeter();
      const inlineMs = await inlineBroadcast(`i${runs++}`);
      const inlineUsage = inlineCpu();
      points.push({
        size,
        parallel,
        inline: inlineMs,
        jobs,
        answered,
        parallelCpu: parallelUsage,
        inlineCpu: inlineUsage,
      });
    }

    const largest = points.at(-1);
    if (!largest) throw new Error("no sizes measured");
    results.push(
      figure({
        name: `inline broadcast to ${largest.size.toLocaleString("en-US")}, ${RTT_MS} ms RTT`,
        value: largest.inline,
        unit: "ms",
        lowerIsBetter: true,
      }),
      figure({
        name: `parallel fan-out broadcast to ${largest.size.toLocaleString("en-US")}, ${RTT_MS} ms RTT (${largest.jobs} jobs, ${stack.handlers.pool().length} handler workers)`,
        value: largest.parallel,
        unit: "ms",
        lowerIsBetter: true,
        baseline: { value: largest.inline, name: "inline path, same run" },
        minRatio: 3,
      }),
    );
    results.push(
      figure({
        name: `broadcast route answered (receipt with ${largest.jobs} jobs queued), ${largest.size.toLocaleString("en-US")} connections`,
        value: largest.answered,
        unit: "ms",
        lowerIsBetter: true,
      }),
    );
    // CPU per delivered frame, whole local stack: independent of what else the machine runs, unlike
    // the wall-clock figures above (which need the cores to themselves).
    const { inlineCpu, parallelCpu } = largest;
    if (inlineCpu && parallelCpu) {
      const perFrame = (cpu: StackCpu) => (totalMs(cpu) * 1000) / largest.size;
      const split = (cpu: StackCpu) =>
        `main thread ${Math.round(cpu.mainThreadMs)} ms, other threads ${Math.round(cpu.otherThreadsMs)} ms, socket farm ${Math.round(cpu.farmMs)} ms`;
      results.push(
        figure({
          name: `CPU per delivered frame, inline, whole local stack (${split(inlineCpu)})`,
          value: perFrame(inlineCpu),
          unit: "µs",
          lowerIsBetter: true,
        }),
        figure({
          name: `CPU per delivered frame, parallel fan-out, whole local stack (${split(parallelCpu)})`,
          value: perFrame(parallelCpu),
          unit: "µs",
          lowerIsBetter: true,
          baseline: { value: perFrame(inlineCpu), name: "inline" },
        }),
      );
    }
    for (const point of points.slice(0, -1)) {
      results.push(
        figure({
          name: `inline broadcast to ${point.size.toLocaleString("en-US")}, ${RTT_MS} ms RTT`,
          value: point.inline,
          unit: "ms",
          lowerIsBetter: true,
        }),
        figure({
          name: `parallel fan-out broadcast to ${point.size.toLocaleString("en-US")}, ${RTT_MS} ms RTT (${point.jobs} jobs)`,
          value: point.parallel,
          unit: "ms",
          lowerIsBetter: true,
          baseline: { value: point.inline, name: "inline path, same run" },
        }),
      );
    }

    // CPU per post: the sender process alone, against the gateway directly (loopback).
    const ids: string[] = [];
    const client = localDynamoClient(stack.outputs.dynamoEndpoint);
    for await (const page of createConnectionStore({ tableName: stack.outputs.tableName, client }).walk()) {
      ids.push(...page.map((record) => record.connectionId));
      if (ids.length >= 200) break;
    }
    client.destroy();
    const cpu = await perPostCpu(stack.outputs.managementEndpoint, ids);
    results.push(
      figure({
        name: "CPU per PostToConnection, SDK client defaults",
        value: cpu.defaults,
        unit: "µs",
        lowerIsBetter: true,
      }),
      figure({
        name: "CPU per PostToConnection, the Messenger's client",
        value: cpu.messenger,
        unit: "µs",
        lowerIsBetter: true,
        baseline: { value: cpu.defaults, name: "SDK client defaults" },
        minRatio: 2,
      }),
    );

    // Projection on AWS for the largest size: every FanOut worker has its own CPU, so a job takes
    // max(CPU per post, RTT / concurrency) per post; the route walks the registry and queues the jobs.
    const jobs = Math.ceil(largest.size / FANOUT.jobSize);
    const perPostMs = Math.max(cpu.messenger / 1000, RTT_MS / FANOUT.concurrency);
    const walkPages = 8 * Math.ceil(largest.size / 8 / FANOUT.jobSize);
    const routeMs =
      walkPages * AWS_ASSUMPTIONS.queryMs +
      Math.ceil(jobs / 16) * AWS_ASSUMPTIONS.invokeMs +
      AWS_ASSUMPTIONS.asyncStartMs;
    const jobMs = FANOUT.jobSize * perPostMs + RTT_MS;
    results.push(
      figure({
        name: `projected broadcast to ${largest.size.toLocaleString("en-US")} on AWS, N = ${jobs} FanOut workers`,
        value: routeMs + jobMs,
        unit: "ms",
        lowerIsBetter: true,
        maxValue: 2000,
      }),
    );

    await mkdir(new URL("./results/", import.meta.url), { recursive: true });
    await writeFile(
      new URL("./results/fanout-scale.svg", import.meta.url),
      lineChart({
        title: `Broadcast time, ${RTT_MS} ms emulated round trip per @connections call`,
        xLabel: "live connections",
        yLabel: "time until every socket has the frame (ms)",
        series: [
          {
            name: "inline (one sender, 16 in flight)",
            color: "#c0392b",
            points: points.map((p) => ({ x: p.size, y: Math.round(p.inline) })),
          },
          {
            name: `parallel fan-out (FanOut jobs of ${FANOUT.jobSize})`,
            color: "#2471a3",
            points: points.map((p) => ({ x: p.size, y: Math.round(p.parallel) })),
          },
        ],
      }),
    );
    await writeFile(new URL("./results/fanout-scale.json", import.meta.url), `${JSON.stringify(points, null, 2)}\n`);
  } finally {
    admin?.close();
    await inline?.terminate();
    farm.send({ cmd: "close" });
    await new Promise((resolve) => farm.child.once("exit", resolve));
    await stack.stop();
    await relay?.stop();
  }
  return results;
}
