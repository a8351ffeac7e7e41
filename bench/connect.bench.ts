import { performance } from "node:perf_hooks";
import type { BenchStack } from "./lib/bench-stack";
import { connect, connectPlain, type RealtimeClient } from "./lib/clients";
import { startRawEchoServer } from "./lib/raw-server";
import type { BenchResult } from "./lib/result";
import { figure } from "./lib/stats";

/**
 * Authenticated connects per second (authorizer + `$connect` + registry write, then close with its
 * `$disconnect`) against plain `ws` connects to a raw server, with WORKERS clients connecting and
 * closing in a loop. Tokens rotate over the bench users (the authorizer caches a verified token, as
 * a warm container does for a returning user).
 */

const WORKERS = 10;
const ROUNDS = 3;
const SLICE_MS = 2_500;

async function cycles(open: (index: number) => Promise<RealtimeClient>, durationMs: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: WORKERS }, async (_, worker) => {
      while (performance.now() - start < durationMs) {
        const client = await open(worker + count);
        count += 1;
        await client.close();
      }
    }),
  );
  return (count / (performance.now() - start)) * 1000;
}

export async function runConnectBench(env: BenchStack, options: { rounds?: number; sliceMs?: number } = {}) {
  const rounds = options.rounds ?? ROUNDS;
  const sliceMs = options.sliceMs ?? SLICE_MS;
  const raw = await startRawEchoServer();
  const { users, stack } = env;
  const openRaw = () => connectPlain(raw.url);
  const openGateway = (index: number) =>
    connect(stack.outputs.webSocketUrl, users[index % users.length]?.idToken ?? "");
  let rawRate = 0;
  let gatewayRate = 0;
  try {
    await cycles(openRaw, 200);
    await cycles(openGateway, 500);
    for (let round = 0; round < rounds; round += 1) {
      rawRate = Math.max(rawRate, await cycles(openRaw, sliceMs));
      gatewayRate = Math.max(gatewayRate, await cycles(openGateway, sliceMs));
    }
  } finally {
    await raw.stop();
  }
  const results: BenchResult[] = [
    figure({ name: `raw ws connect + close, ${WORKERS} clients`, value: rawRate, unit: "connects/s" }),
    figure({
      name: `authenticated connect + close, ${WORKERS} clients`,
      value: gatewayRate,
      unit: "connects/s",
      baseline: { value: rawRate, name: "raw ws connects" },
    }),
  ];
  return results;
}
