"use client";

import { acquireSocket, closeSocket, SocketClient, type SocketClientOptions, type SocketStatus } from "@wsauth/client";
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";

const IDLE: SocketStatus = { state: "idle" };
const noSubscription = () => () => {};

/**
 * The tab's socket for the signed-in user `userKey`: one shared client per tab (`acquireSocket` in `@wsauth/client`), its
 * status as React state, an immediate retry when the browser comes back online, and `close(reason)`
 * for sign-out. `getToken` must be a stable function (module scope or memoised).
 */
export function useSocket(
  userKey: string,
  options: SocketClientOptions,
): { client: SocketClient | undefined; status: SocketStatus; close: (reason: string) => void } {
  const [client, setClient] = useState<SocketClient>();
  const { url, transport = "subprotocol", renewal = "reauth", getToken } = options;
  const key = `${userKey} ${transport} ${url}`;

  useEffect(() => {
    const lease = acquireSocket(key, () => new SocketClient({ url, getToken, transport, renewal }));
    setClient(lease.client);
    const retry = () => lease.client.retryNow();
    window.addEventListener("online", retry);
    return () => {
      window.removeEventListener("online", retry);
      lease.release();
    };
  }, [key, url, transport, renewal, getToken]);

  const status = useSyncExternalStore(
    client?.subscribeStatus ?? noSubscription,
    client?.getStatus ?? (() => IDLE),
    () => IDLE,
  );
  const close = useCallback((reason: string) => closeSocket(key, reason), [key]);
  return { client, status, close };
}
