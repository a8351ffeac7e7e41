import { setTimeout as sleep } from "node:timers/promises";
import { LOCAL } from "@wsauth/core/constants";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTestStack, type TestStack } from "../testing";
import { pickFreePort } from "./ports";

/** How one connection attempt ended: opened, refused with an HTTP status, or no listener yet. */
function attempt(url: string): Promise<"open" | number | "no-listener"> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.once("open", () => {
      resolve("open");
      socket.terminate();
    });
    socket.once("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.once("error", () => resolve("no-listener"));
  });
}

describe("local stack while it starts", () => {
  let stack: TestStack | undefined;
  afterAll(() => stack?.stop());

  it("refuses every socket until the handlers (and the authorizer) are loaded", async () => {
    const port = await pickFreePort("127.0.0.1");
    let started = false;
    const starting = startTestStack({ ports: { gateway: port } }).finally(() => {
      started = true;
    });
    const outcomes: Array<"open" | number | "no-listener"> = [];
    while (!started) {
      outcomes.push(await attempt(`ws://127.0.0.1:${port}/${LOCAL.stage}`));
      await sleep(5); // pacing only: the stack starts in this process
    }
    stack = await starting;
    // The gateway listened before the handlers were built, and answered those attempts with a 503.
    expect(outcomes).toContain(503);
    expect(outcomes).not.toContain("open");
    // Once up, a socket without a token meets the real authorizer.
    expect(await attempt(stack.outputs.webSocketUrl)).toBe(401);
  });
});
