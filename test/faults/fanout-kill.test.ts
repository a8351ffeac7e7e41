import { setTimeout as sleep } from "node:timers/promises";
import { FANOUT, ROUTE, SUBPROTOCOL } from "@wsauth/core/constants";
import { LOAD_LIMITS, signInDemoUser, startTestStack, type TestStack } from "@wsauth/local/testing";
import pMap from "p-map";
import { afterAll, beforeAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay";

// A fan-out worker dies mid-job (its handler worker thread is killed, as a Lambda container can die).
// The management API sits behind a relay the test can hold, so "mid-job" is a known state: part of
// the job has been delivered, and the sends in flight at the moment of the kill are on the network.
// Lambda's retry of the job (the local stack retries an asynchronous invocation whose worker died)
// must deliver to every connection that did not get the message, and to none that did.

const CONNECTIONS = FANOUT.inlineMax + 40;

let stack: TestStack;
let relay: TcpRelay;
const sockets: WebSocket[] = [];
const received = new Map<WebSocket, number>();
let totalReceived = 0;
const logged: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    // Hundreds of alice's sockets at once: far over the per-user cap and the stage throttle.
    ...LOAD_LIMITS,
    handlerWorkers: 2,
    asyncRetryDelaysMs: [100, 100],
    reporter: { info: () => {}, warn: (line) => logged.push(line), error: (line) => logged.push(line) },
    routeDependencies: async (direct) => {
      const management = new URL(direct.managementEndpoint);
      relay = await startTcpRelay({ host: management.hostname, port: Number(management.port) });
      return { ...direct, managementEndpoint: `${relay.endpoint}${management.pathname}` };
    },
  });
  const alice = await signInDemoUser(stack.outputs, 0);
  await pMap(
    Array.from({ length: CONNECTIONS }),
    async () => {
      const socket = new WebSocket(stack.outputs.webSocketUrl, [SUBPROTOCOL, alice.idToken]);
      received.set(socket, 0);
      socket.on("message", (data) => {
        const frame = JSON.parse(String(data)) as { type: string; data?: { run?: string } };
        if (frame.type === "broadcast" && frame.data?.run === "kill") {
          received.set(socket, (received.get(socket) ?? 0) + 1);
          totalReceived += 1;
        }
      });
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
      });
      sockets.push(socket);
    },
    { concurrency: 16 },
  );
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await stack?.stop();
  await relay?.stop();
});

it("a fan-out worker killed mid-job: the retry delivers to every connection exactly once", async () => {
  const sender = sockets[0] as WebSocket;
  sender.send(JSON.stringify({ action: ROUTE.broadcast, data: { run: "kill" } }));

  // Part of the job delivered, then everything on the network held.
  while (totalReceived < 100) await sleep(2);
  relay.hold();
  // Sends that completed before the hold have their answers back and their progress written.
  await sleep(500);
  const deliveredBeforeKill = totalReceived;
  expect(deliveredBeforeKill).toBeLessThan(CONNECTIONS);

  const busy = stack.handlers.pool().filter((worker) => worker.running.includes("fanout"));
  expect(busy.length).toBeGreaterThan(0);
  await stack.handlers.killWorker((busy[0] as { index: number }).index);
  // The dead thread's connections close; what it had on the network is dropped by the relay.
  await sleep(300);
  relay.release();

  await stack.handlers.asyncSettled();
  const deadline = Date.now() + 10_000;
  while (totalReceived < CONNECTIONS && Date.now() < deadline) await sleep(20);
  await sleep(300);

  const counts = [...received.values()];
  expect(counts.filter((count) => count === 0)).toHaveLength(0);
  expect(counts.filter((count) => count > 1)).toHaveLength(0);
  expect(totalReceived).toBe(CONNECTIONS);
  const stats = stack.handlers.asyncStats();
  expect(stats.retried).toBeGreaterThanOrEqual(1);
  expect(stats.failed).toBe(0);
  expect(logged.some((line) => /asynchronous invocation of fanout failed .*retrying/.test(line))).toBe(true);
}, 120_000);
