// @vitest-environment happy-dom
import { SUBPROTOCOL, TOKEN_QUERY_PARAM } from "@wsauth/core/constants";
import { act, createElement, StrictMode } from "react";
import { createRoot, type Root } from "react-dom/client";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FakeWebSocket } from "../../test/fake-websocket";
import type { IdToken, Transport } from "./client";
import { useSocket } from "./useSocket";

/**
 * The hook under real React StrictMode (in a DOM from happy-dom): StrictMode mounts every effect,
 * unmounts it and mounts it again, which is what made the seed open two sockets and leak one.
 */

const URL_ = "ws://127.0.0.1:3001/local";
let tokenFetches = 0;
// Stable across renders, as the hook requires.
const getToken = async (): Promise<IdToken> => {
  tokenFetches += 1;
  return { token: "t1", expiresAt: Date.now() + 60 * 60 * 1000 };
};

function Probe({ userKey, transport }: { userKey: string; transport: Transport }) {
  const { status } = useSocket(userKey, { url: URL_, getToken, transport });
  return createElement("p", { id: "state" }, status.state);
}

let container: HTMLElement;
let root: Root;
const render = (userKey: string, transport: Transport = "subprotocol") =>
  act(() => root.render(createElement(StrictMode, null, createElement(Probe, { userKey, transport }))));
/** Lets token fetches and the deferred release of a lease run. */
const settle = () => act(() => new Promise<void>((resolve) => setTimeout(resolve, 0)));
const shownState = () => container.querySelector("#state")?.textContent;

beforeEach(() => {
  (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
  vi.stubGlobal("WebSocket", FakeWebSocket);
  FakeWebSocket.reset();
  tokenFetches = 0;
  container = document.createElement("div");
  document.body.append(container);
  root = createRoot(container);
});
afterEach(async () => {
  await act(() => root.unmount());
  await settle();
  container.remove();
  vi.unstubAllGlobals();
});

describe("useSocket under StrictMode", () => {
  it("opens exactly one socket, shows its state, and closes it cleanly on unmount", async () => {
    await render("alice");
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(1);
    // One client for the tab: the StrictMode remount did not start a second connection attempt.
    expect(tokenFetches).toBe(1);
    expect(FakeWebSocket.latest().protocols).toEqual([SUBPROTOCOL, "t1"]);
    expect(shownState()).toBe("connecting");

    await act(() => FakeWebSocket.latest().acceptOpen());
    expect(shownState()).toBe("open");
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(1);

    await act(() => root.unmount());
    await settle();
    expect(FakeWebSocket.live).toHaveLength(0);
    expect(FakeWebSocket.latest().closedWith?.code).toBe(1000);
    root = createRoot(container);
  });

  it("replaces the socket, never adds one, when the transport changes", async () => {
    await render("alice");
    await settle();
    await act(() => FakeWebSocket.latest().acceptOpen());
    await render("alice", "query");
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.live).toHaveLength(1);
    expect(new URL(FakeWebSocket.latest().url).searchParams.get(TOKEN_QUERY_PARAM)).toBe("t1");
    expect(FakeWebSocket.latest().protocols).toBeUndefined();
  });

  it("keeps one socket per tab when another user signs in", async () => {
    await render("alice");
    await settle();
    await render("bob");
    await settle();
    expect(FakeWebSocket.instances).toHaveLength(2);
    expect(FakeWebSocket.live).toHaveLength(1);
    expect(FakeWebSocket.instances[0]?.closedWith?.code).toBe(1000);
  });
});
