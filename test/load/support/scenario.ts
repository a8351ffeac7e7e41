import type { LocalOutputs } from "@wsauth/core/constants";
import pMap from "p-map";
import { closeAll, connectMany, type Frame, type RealtimeClient } from "../../../bench/lib/clients";
import type { LoadUser } from "../../../bench/lib/users";

/** How big a load run is. */
export interface LoadSize {
  users: number;
  connectionsPerUser: number;
  /** Echo messages each connection sends. */
  messagesPerConnection: number;
  /** `sendmessage`s the first connection of each user sends to the next user. */
  directMessagesPerUser: number;
  /** Echoes each connection keeps in flight. */
  window: number;
}

/** An echo that has not come by then is counted as lost (well past the 29 s integration timeout). */
const ANSWER_GUARD_MS = 60_000;
/** A receipt that has not come by then is counted as missing (the run goes on to report it). */
const RECEIPT_GUARD_MS = 120_000;

export const FULL_SIZE: LoadSize = {
  users: 10,
  connectionsPerUser: 100,
  messagesPerConnection: 100,
  directMessagesPerUser: 5,
  window: 1,
};
export const REDUCED_SIZE: LoadSize = {
  users: 4,
  connectionsPerUser: 10,
  messagesPerConnection: 20,
  directMessagesPerUser: 3,
  window: 4,
};

/** `WSAUTH_LOAD_SIZE=full` selects the full run (`pnpm test:load`); anything else the reduced one. */
export function loadSizeFromEnv(): LoadSize {
  return process.env.WSAUTH_LOAD_SIZE === "full" ? FULL_SIZE : REDUCED_SIZE;
}

export interface LoadTally {
  connections: number;
  echoesSent: number;
  /** Echoes that came back to the connection that sent them, each sequence number once. */
  echoesReceived: number;
  /** Echo sequence numbers that never came back. */
  lost: number;
  /** Echoes or direct messages that arrived more than once. */
  duplicated: number;
  /** Frames that arrived on a connection they were not meant for. */
  misrouted: number;
  directSent: number;
  /** Direct messages received summed over every connection of every target user. */
  directReceived: number;
  /** What `directReceived` must be: each direct message reaches every connection of its target. */
  directExpected: number;
  /** `sent` receipts the senders got, and the deliveries they report. */
  receipts: number;
  receiptDelivered: number;
  errorFrames: Frame[];
}

interface Tagged {
  /** Index of the sending connection. */
  c: number;
  s: number;
}

function isTagged(value: unknown): value is Tagged {
  return typeof value === "object" && value !== null && typeof (value as Tagged).c === "number";
}

/**
 * Runs the load scenario against a running stack: `users x connectionsPerUser` authenticated
 * sockets; each sends `messagesPerConnection` echo frames tagged with its index and a sequence
 * number (keeping `window` in flight) and must get exactly those back; the first connection of each
 * user also sends `directMessagesPerUser` messages to the next user, which every connection of that
 * user must receive exactly once, from the right sender. Closes every socket at the end.
 */
export async function runLoadScenario(outputs: LocalOutputs, users: LoadUser[], size: LoadSize): Promise<LoadTally> {
  const total = size.users * size.connectionsPerUser;
  const userOf = (index: number) => Math.floor(index / size.connectionsPerUser);
  const clients = await connectMany(
    outputs.webSocketUrl,
    total,
    (index) => (users[userOf(index)] as LoadUser).idToken,
    25,
  );
  const tally: LoadTally = {
    connections: clients.length,
    echoesSent: 0,
    echoesReceived: 0,
    lost: 0,
    duplicated: 0,
    misrouted: 0,
    directSent: 0,
    directReceived: 0,
    directExpected: 0,
    receipts: 0,
    receiptDelivered: 0,
    errorFrames: [],
  };
  // Per connection: echo sequence numbers seen, and direct-message keys seen.
  const echoSeen = clients.map(() => new Set<number>());
  const directSeen = clients.map(() => new Set<string>());
  const echoWaiters = clients.map(() => new Map<number, () => void>());
  const receiptWaiters: Array<() => void> = [];

  clients.forEach((client, index) => {
    client.keepFrames = false;
    client.onFrame = (frame) => {
      if (frame.type === "echo" && isTagged(frame.message)) {
        const { c, s } = frame.message;
        if (c !== index) {
          tally.misrouted += 1;
          return;
        }
        if (echoSeen[index]?.has(s)) tally.duplicated += 1;
        else {
          echoSeen[index]?.add(s);
          tally.echoesReceived += 1;
        }
        echoWaiters[index]?.get(s)?.();
        echoWaiters[index]?.delete(s);
      } else if (frame.type === "message" && isTagged(frame.data)) {
        const sender = frame.data.c;
        const expectedTarget = (userOf(sender) + 1) % size.users;
        const from = frame.from as { userId?: string } | undefined;
        if (userOf(index) !== expectedTarget || from?.userId !== users[userOf(sender)]?.userId) {
          tally.misrouted += 1;
          return;
        }
        const key = `${sender}:${frame.data.s}`;
        if (directSeen[index]?.has(key)) tally.duplicated += 1;
        else {
          directSeen[index]?.add(key);
          tally.directReceived += 1;
        }
      } else if (frame.type === "sent") {
        tally.receipts += 1;
        tally.receiptDelivered += Number(frame.delivered);
        receiptWaiters.shift()?.();
      } else {
        // Error frames of the routes, and the gateway's own `{"message":"Internal server error"}`.
        tally.errorFrames.push(frame);
        // A rejected frame gets no echo: release the oldest one in flight so the run goes on (the
        // missing echo is then counted as lost).
        const waiters = echoWaiters[index];
        const oldest = waiters?.keys().next();
        if (waiters && oldest && !oldest.done) {
          waiters.get(oldest.value)?.();
          waiters.delete(oldest.value);
        }
      }
    };
  });

  const sendEchoes = async (client: RealtimeClient, index: number) => {
    const sequence = Array.from({ length: size.messagesPerConnection }, (_, s) => s);
    await pMap(
      sequence,
      (s) =>
        new Promise<void>((resolve) => {
          // Past the integration timeout every frame has its answer (echo or error frame), unless the
          // answer itself was lost: then release it so the run ends and the loss is counted.
          const guard = setTimeout(resolve, ANSWER_GUARD_MS);
          const done = () => {
            clearTimeout(guard);
            resolve();
          };
          echoWaiters[index]?.set(s, done);
          tally.echoesSent += 1;
          client.send({ c: index, s });
          // A closed socket never answers either.
          void client.closed.then(done);
        }),
      { concurrency: size.window },
    );
  };
  const sendDirect = async (index: number) => {
    const client = clients[index] as RealtimeClient;
    const target = users[(userOf(index) + 1) % size.users] as LoadUser;
    for (let s = 0; s < size.directMessagesPerUser; s += 1) {
      tally.directSent += 1;
      tally.directExpected += size.connectionsPerUser;
      // Every second one by username, the rest by user id: both addressings route the same way.
      client.send({ action: "sendmessage", to: s % 2 === 0 ? target.userId : target.username, data: { c: index, s } });
    }
  };

  // Echoes first, then direct messages: one phase at a time keeps every invocation well inside the
  // integration timeout on a small machine (one handler worker serves all connections locally).
  await Promise.all(clients.map(sendEchoes));
  const receiptsDue = size.users * size.directMessagesPerUser;
  const allReceipts = new Promise<void>((resolve) => {
    for (let index = 0; index < receiptsDue; index += 1) {
      receiptWaiters.push(index === receiptsDue - 1 ? resolve : () => {});
    }
    if (receiptsDue === 0) resolve();
  });
  await Promise.all(users.map((_, user) => sendDirect(user * size.connectionsPerUser)));
  // Each sender's `sent` receipt comes after the fan-out was posted; the targets' frames travel on
  // other sockets and may still be in flight, so wait (bounded) for the count too. A shortfall shows
  // as a count, never as a timing assertion.
  let guard: NodeJS.Timeout | undefined;
  await Promise.race([allReceipts, new Promise((resolve) => (guard = setTimeout(resolve, RECEIPT_GUARD_MS)))]);
  clearTimeout(guard);
  for (let attempt = 0; attempt < 2000 && tally.directReceived < tally.directExpected; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  tally.lost = tally.echoesSent - tally.echoesReceived;
  await closeAll(clients);
  return tally;
}
