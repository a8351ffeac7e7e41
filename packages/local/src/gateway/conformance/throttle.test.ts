import { setTimeout as sleep } from "node:timers/promises";
import { ROUTE } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../index";
import { StageThrottler } from "../throttle";
import { allowPolicy, connect, EventLog, open, recording, startTestGateway } from "./harness";

/**
 * Stage throttling as API Gateway applies it: a token bucket per route (its route settings, else the
 * stage's default route settings). An upgrade over `$connect`'s limit is answered 429 before the
 * authorizer runs; a message over its route's limit gets the "Too Many Requests" error frame, its
 * integration is not invoked, and the connection stays open.
 */
describe("gateway: stage throttling", () => {
  const events = new EventLog();
  let gateway: Gateway;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      routes: {
        $connect: recording(events, ROUTE.connect),
        $disconnect: recording(events, ROUTE.disconnect),
        $default: recording(events, ROUTE.default),
        ping: recording(events, ROUTE.ping),
      },
      authorizer: recording(events, "authorizer", (event) => allowPolicy(event.methodArn)),
      throttle: {
        default: { rateLimit: 1000, burstLimit: 1000 },
        routes: { $connect: { rateLimit: 1, burstLimit: 2 }, ping: { rateLimit: 2, burstLimit: 3 } },
      },
    }));
  });
  afterAll(() => gateway.close());

  it("answers upgrades over $connect's bucket with 429 and runs neither the authorizer nor $connect for them", async () => {
    const results = await Promise.all(Array.from({ length: 4 }, () => connect(gateway.url)));
    const opened = results.flatMap((result) => (result.ok ? [result.client] : []));
    const refused = results.flatMap((result) => (result.ok ? [] : [result]));
    expect(opened).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const result of refused) {
      expect(result).toMatchObject({ status: 429, body: JSON.stringify({ message: "Too Many Requests" }) });
      expect(result.headers?.["x-amzn-errortype"]).toBe("TooManyRequestsException");
    }
    expect(events.of("authorizer")).toHaveLength(2);
    expect(events.of(ROUTE.connect)).toHaveLength(2);

    // The bucket refills at its rate: one more upgrade a second.
    await sleep(1100);
    const later = await open(gateway.url);
    opened.push(later);
    for (const client of opened) client.socket.close();
    // `$disconnect` is never throttled.
    await Promise.all(opened.map((client) => client.closed));
    await expect.poll(() => events.of(ROUTE.disconnect).length).toBe(3);
  });

  it("answers messages over their route's bucket with the Too Many Requests frame and keeps the connection", async () => {
    await sleep(1100); // $connect's bucket refills
    const client = await open(gateway.url);
    for (let index = 0; index < 6; index++) client.send(JSON.stringify({ action: ROUTE.ping, index }));
    const frames = await Promise.all(Array.from({ length: 3 }, () => client.nextJson()));
    for (const frame of frames) {
      expect(frame).toEqual({
        message: "Too Many Requests",
        connectionId: expect.any(String),
        requestId: expect.any(String),
      });
    }
    await expect.poll(() => events.of(ROUTE.ping).length).toBe(3);
    // Another route has its own bucket (the stage default): not throttled.
    client.send("not throttled");
    await events.next(ROUTE.default, (event) => event.body === "not throttled");
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    client.socket.close();
    await client.closed;
  });
});

describe("StageThrottler (token buckets)", () => {
  it("admits a burst, then one request per 1/rate seconds, per route", () => {
    let clock = 0;
    const throttler = new StageThrottler(
      { default: { rateLimit: 10, burstLimit: 2 }, routes: { $connect: { rateLimit: 1, burstLimit: 1 } } },
      () => clock,
    );
    expect([throttler.admit("ping"), throttler.admit("ping"), throttler.admit("ping")]).toEqual([true, true, false]);
    expect(throttler.admit("$connect")).toBe(true);
    expect(throttler.admit("$connect")).toBe(false);
    clock += 100;
    expect([throttler.admit("ping"), throttler.admit("ping")]).toEqual([true, false]);
    clock += 1000;
    expect([throttler.admit("ping"), throttler.admit("ping"), throttler.admit("ping")]).toEqual([true, true, false]);
    expect(throttler.admit("$connect")).toBe(true);
  });

  it("admits everything without a stage throttle, and nothing with a bucket of 0", () => {
    expect(new StageThrottler(undefined).admit("ping")).toBe(true);
    const closed = new StageThrottler({ default: { rateLimit: 0, burstLimit: 0 } });
    expect(closed.admit("ping")).toBe(false);
  });
});
