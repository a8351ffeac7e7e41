import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import pMap from "p-map";
import type { ConnectionRecord, ConnectionStore } from "../connection/index";
import { DependencyError } from "../errors/index";
import { createLog, type Log } from "../logging/index";
import type { ServerFrame } from "../protocol/index";
import { createManagementClient } from "./management-client";

/** Outcome of a delivery: `gone` connections had closed (410) and their rows were deleted. */
export interface DeliveryReport {
  delivered: number;
  gone: number;
  failed: number;
}

export interface Messenger {
  /** Sends one frame to one connection. */
  toConnection(connectionId: string, frame: ServerFrame): Promise<DeliveryReport>;
  /**
   * Sends one frame to each of the given connections. A registry record whose token has expired is
   * skipped: that connection is no longer authorised to receive anything but replies to its own frames
   * (which go through `toConnection`) and is closed by its next frame or the sweep.
   */
  toConnections(
    connections: readonly (Pick<ConnectionRecord, "connectionId"> & Partial<Pick<ConnectionRecord, "tokenExp">>)[],
    frame: ServerFrame,
    options?: SendOptions,
  ): Promise<DeliveryReport>;
  /** Sends one frame to every live connection of the user(s) `target` names (user id or username). */
  toUser(target: string, frame: ServerFrame): Promise<DeliveryReport>;
  /** Sends one frame to every live connection, page by page. */
  broadcast(frame: ServerFrame): Promise<DeliveryReport>;
  /**
   * Closes a connection at the gateway and deletes its row (unless `rowRemoved`: the caller already
   * deleted it). Resolves `closed`, or `gone` when the gateway no longer knew it; throws
   * `DependencyError` when the gateway call failed otherwise.
   */
  disconnect(connectionId: string, options?: { rowRemoved?: boolean }): Promise<"closed" | "gone">;
  /**
   * Whether the gateway still has the connection (`GetConnection`). One it no longer knows (410) is
   * pruned as a send that meets it prunes it; any other failure throws `DependencyError`.
   */
  isConnected(connectionId: string): Promise<boolean>;
  /**
   * Registers what else to clean up when a send finds a connection gone (410), after its row is
   * deleted (channel subscriptions and presence). A failing listener is logged.
   */
  onGone(listener: (connectionId: string) => Promise<void>): void;
}

export interface SendOptions {
  /** Called as each send settles (a fan-out job records its progress from it). */
  onOutcome?: (connectionId: string, outcome: keyof DeliveryReport) => void;
}

export interface MessengerOptions {
  /** The management API endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  endpoint: string;
  store: ConnectionStore;
  /**
   * Defaults to `createManagementClient` for `endpoint` (region and credentials from the environment):
   * the SDK client set up for many sends.
   */
  client?: ApiGatewayManagementApiClient;
  /** Sends in flight at once (default 16): keeps a broadcast within the management API's rate. */
  concurrency?: number;
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
  log?: Log;
}

/** A send to a connection that has closed: API Gateway answers 410 (`GoneException`). */
export function isGone(error: unknown): boolean {
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return candidate?.name === "GoneException" || candidate?.$metadata?.httpStatusCode === 410;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === "number" ? status : undefined;
}

const EMPTY: DeliveryReport = { delivered: 0, gone: 0, failed: 0 };

export function createMessenger(options: MessengerOptions): Messenger {
  const { store } = options;
  const client = options.client ?? createManagementClient({ endpoint: options.endpoint });
  const concurrency = options.concurrency ?? 16;
  const now = options.now ?? Date.now;
  const log = options.log ?? createLog("messenger");
  const goneListeners: Array<(connectionId: string) => Promise<void>> = [];

  /** Deletes the row of a closed connection; a failure is logged, the sweep or TTL catches it later. */
  async function prune(connectionId: string): Promise<void> {
    try {
      await store.remove(connectionId);
    } catch (error) {
      log.warn("could not delete the row of a gone connection", { connectionId, error });
    }
    for (const listener of goneListeners) {
      await listener(connectionId).catch((error: unknown) => {
        log.warn("could not clean up after a gone connection", { connectionId, error });
      });
    }
  }

  async function sendOne(connectionId: string, data: Uint8Array): Promise<keyof DeliveryReport> {
    try {
      await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      return "delivered";
    } catch (error) {
      if (isGone(error)) {
        await prune(connectionId);
        return "gone";
      }
      log.error("send to connection failed", {
        code: "dependency_failed",
        connectionId,
        status: statusOf(error),
        error,
      });
      return "failed";
    }
  }

  /** Sends one frame to every id with `concurrency` sends in flight; ids may arrive while it sends. */
  async function sendAll(
    ids: Iterable<string> | AsyncIterable<string>,
    frame: ServerFrame,
    sendOptions: SendOptions = {},
  ): Promise<DeliveryReport> {
    // Serialised once: a broadcast sends the same bytes to every connection.
    const data = new TextEncoder().encode(JSON.stringify(frame));
    const { onOutcome } = sendOptions;
    const outcomes = await pMap(
      ids,
      onOutcome
        ? async (id) => {
            const outcome = await sendOne(id, data);
            onOutcome(id, outcome);
            return outcome;
          }
        : (id) => sendOne(id, data),
      { concurrency },
    );
    const report = { ...EMPTY };
    for (const outcome of outcomes) report[outcome] += 1;
    return report;
  }

  /** A record whose token has expired gets nothing but replies (see `toConnections`). */
  const authorised = (tokenExp: number | undefined) => tokenExp === undefined || tokenExp > now() / 1000;

  async function toConnections(
    connections: readonly (Pick<ConnectionRecord, "connectionId"> & Partial<Pick<ConnectionRecord, "tokenExp">>)[],
    frame: ServerFrame,
    sendOptions?: SendOptions,
  ): Promise<DeliveryReport> {
    const ids = new Set<string>();
    for (const { connectionId, tokenExp } of connections) if (authorised(tokenExp)) ids.add(connectionId);
    return sendAll(ids, frame, sendOptions);
  }

  return {
    toConnection: (connectionId, frame) => toConnections([{ connectionId }], frame),
    toConnections,

    async toUser(target, frame) {
      return toConnections(await store.listForTarget(target), frame);
    },

    async broadcast(frame) {
      // One pool over the whole walk: sends keep `concurrency` in flight across page boundaries instead
      // of draining at the end of every page, while the next page is read.
      async function* recipients(): AsyncIterable<string> {
        for await (const page of store.walkRecipients()) {
          for (const { connectionId, tokenExp } of page) if (authorised(tokenExp)) yield connectionId;
        }
      }
      return sendAll(recipients(), frame);
    },

    async disconnect(connectionId, disconnectOptions = {}) {
      let outcome: "closed" | "gone" = "closed";
      try {
        await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      } catch (error) {
        if (!isGone(error)) {
          throw new DependencyError("management API: disconnect failed", { cause: error });
        }
        outcome = "gone";
      }
      if (!disconnectOptions.rowRemoved) await store.remove(connectionId);
      return outcome;
    },

    async isConnected(connectionId) {
      try {
        await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
        return true;
      } catch (error) {
        if (!isGone(error)) throw new DependencyError("management API: get connection failed", { cause: error });
        await prune(connectionId);
        return false;
      }
    },

    onGone(listener) {
      goneListeners.push(listener);
    },
  };
}
