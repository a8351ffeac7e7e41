import type { SocketClient } from "./client";

/**
 * One socket per signed-in tab. React StrictMode mounts, unmounts and mounts again every effect in
 * development; a socket opened in an effect and closed in its cleanup would connect twice. Leases
 * share one client per key, and the last release only stops it after the current task, so an
 * immediate re-acquire (the StrictMode remount) keeps the same, still-connecting socket.
 */

export interface SocketLease {
  client: SocketClient;
  release(): void;
}

interface Entry {
  client: SocketClient;
  leases: number;
  pendingStop: ReturnType<typeof setTimeout> | undefined;
}

const entries = new Map<string, Entry>();

export function acquireSocket(key: string, create: () => SocketClient): SocketLease {
  let entry = entries.get(key);
  if (!entry) {
    // A different key (another user, or other connection settings) replaces the previous socket at once.
    for (const [otherKey, other] of entries) {
      clearTimeout(other.pendingStop);
      other.client.stop("replaced by a new connection");
      entries.delete(otherKey);
    }
    entry = { client: create(), leases: 0, pendingStop: undefined };
    entries.set(key, entry);
    entry.client.start();
  }
  clearTimeout(entry.pendingStop);
  entry.pendingStop = undefined;
  entry.leases += 1;
  const held = entry;
  let released = false;
  return {
    client: held.client,
    release() {
      if (released) return;
      released = true;
      held.leases -= 1;
      if (held.leases > 0) return;
      held.pendingStop = setTimeout(() => {
        if (held.leases > 0 || entries.get(key) !== held) return;
        entries.delete(key);
        held.client.stop("the page closed the connection");
      }, 0);
    },
  };
}

/** Stops the tab's socket now, with a reason the UI shows (e.g. before signing out). */
export function closeSocket(key: string, reason: string): void {
  const entry = entries.get(key);
  if (!entry) return;
  clearTimeout(entry.pendingStop);
  entries.delete(key);
  entry.client.stop(reason);
}
