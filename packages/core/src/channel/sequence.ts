import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { isConditionalFailure } from "../connection/index";
import { CHANNEL_JOIN, CHANNELS } from "../constants/index";
import { DependencyError } from "../errors/index";
import { createSequenceEntity } from "./schema";

/**
 * The channel's sequence row is the one place publishes and subscribes meet, so it is where they are
 * put in order. Every publish takes its seq with an atomic ADD that returns the whole row; a subscribe
 * marks its connection as *joining* on the same row while it replays history. A publish that finds the
 * connection joining leaves its event to that replay; the subscribe clears the mark only while the
 * counter still stands at the last seq it replayed. Single-item updates are strongly consistent and
 * atomic on DynamoDB; no transaction is needed.
 *
 * Joining marks are top-level attributes (`join#<connectionId>` = epoch ms), so setting one needs no
 * map to exist first. The row is written with raw commands (ElectroDB keeps to its declared attributes)
 * under the sequence entity's key and identity attributes.
 */

const JOIN_PREFIX = "join#";

/** The sequence row as a publish or a subscribe sees it. */
export interface SequenceState {
  /** Latest seq taken, 0 when none. */
  seq: number;
  /** When the latest seq was taken (epoch ms), if known. */
  takenAt?: number;
  /** Connections joining the channel (a subscribe in flight), with when each began (epoch ms). */
  joining: ReadonlyMap<string, number>;
}

export interface SequenceRow {
  /** Takes the next seq; resolves it with the connections that are joining right now (fresh marks only). */
  next(channel: string): Promise<{ seq: number; joining: ReadonlySet<string> }>;
  /** Marks a connection as joining; resolves the row as it stands after the mark. */
  beginJoin(channel: string, connectionId: string): Promise<SequenceState>;
  /** Reads the row (strongly consistent). */
  read(channel: string): Promise<SequenceState>;
  /**
   * Clears the mark, but only while the counter stands at `seq` (resolves `false` otherwise); `stale`
   * marks (of subscribes that ended without clearing theirs) go with it.
   */
  endJoin(channel: string, connectionId: string, seq: number, stale: readonly string[]): Promise<boolean>;
  /** Clears the mark whatever the counter says; resolves the seq it stood at. */
  forceEndJoin(channel: string, connectionId: string): Promise<number>;
}

async function dynamo<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DependencyError(`channels: ${operation} failed`, { cause: error });
  }
}

function stateOf(item: Record<string, AttributeValue> | undefined): SequenceState {
  const joining = new Map<string, number>();
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith(JOIN_PREFIX) && value.N !== undefined)
      joining.set(name.slice(JOIN_PREFIX.length), Number(value.N));
  }
  const takenAt = item?.takenAt?.N;
  return {
    seq: Number(item?.seq?.N ?? 0),
    ...(takenAt !== undefined ? { takenAt: Number(takenAt) } : {}),
    joining,
  };
}

/** Marks older than CHANNEL_JOIN.inFlightMs: their subscribe has ended. */
export function staleMarks(state: SequenceState, now: number): string[] {
  return [...state.joining].filter(([, at]) => at <= now - CHANNEL_JOIN.inFlightMs).map(([id]) => id);
}

export function createSequenceRow(options: {
  client: DynamoDBClient;
  tableName: string;
  now: () => number;
}): SequenceRow {
  const { client, tableName, now } = options;
  const entity = createSequenceEntity(client, tableName);
  /** The entity's key of the row, as AttributeValues (ElectroDB builds document-client params). */
  const keyOf = (channel: string): Record<string, AttributeValue> =>
    Object.fromEntries(
      Object.entries(entity.get({ channel }).params().Key as Record<string, string>).map(([name, value]) => [
        name,
        { S: value },
      ]),
    );
  const expireAt = () => ({ N: String(Math.floor(now() / 1000) + CHANNELS.historyTtlSeconds) });
  /** What ElectroDB writes on every update of the row, so it still reads it as a sequence row. */
  const identity = (
    channel: string,
  ): Pick<UpdateItemCommandInput, "ExpressionAttributeNames"> & {
    set: string;
    values: Record<string, AttributeValue>;
  } => ({
    set: "#channel = :channel, #edbE = :edbE, #edbV = :edbV",
    ExpressionAttributeNames: { "#channel": "channel", "#edbE": "__edb_e__", "#edbV": "__edb_v__" },
    values: { ":channel": { S: channel }, ":edbE": { S: "sequence" }, ":edbV": { S: "1" } },
  });

  async function update(operation: string, channel: string, input: Omit<UpdateItemCommandInput, "TableName" | "Key">) {
    return dynamo(operation, () =>
      client.send(new UpdateItemCommand({ TableName: tableName, Key: keyOf(channel), ...input })),
    );
  }

  return {
    async next(channel) {
      const at = now();
      const id = identity(channel);
      const { Attributes } = await update("take sequence number", channel, {
        UpdateExpression: `ADD #seq :one SET #expireAt = :expireAt, #takenAt = :at, ${id.set}`,
        ExpressionAttributeNames: {
          "#seq": "seq",
          "#expireAt": "expireAt",
          "#takenAt": "takenAt",
          ...id.ExpressionAttributeNames,
        },
        ExpressionAttributeValues: {
          ":one": { N: "1" },
          ":expireAt": expireAt(),
          ":at": { N: String(at) },
          ...id.values,
        },
        ReturnValues: "ALL_NEW",
      });
      const state = stateOf(Attributes);
      const joining = new Set(
        [...state.joining].filter(([, since]) => since > at - CHANNEL_JOIN.inFlightMs).map(([c]) => c),
      );
      return { seq: state.seq, joining };
    },

    async beginJoin(channel, connectionId) {
      const id = identity(channel);
      const { Attributes } = await update("mark a joining connection", channel, {
        // A channel nobody has published to gets its row here; either way the row lives on for the TTL a
        // publish gives it, so it cannot expire while the mark is on it.
        UpdateExpression: `SET #mark = :at, #expireAt = :expireAt, ${id.set}`,
        ExpressionAttributeNames: {
          "#mark": `${JOIN_PREFIX}${connectionId}`,
          "#expireAt": "expireAt",
          ...id.ExpressionAttributeNames,
        },
        ExpressionAttributeValues: { ":at": { N: String(now()) }, ":expireAt": expireAt(), ...id.values },
        ReturnValues: "ALL_NEW",
      });
      return stateOf(Attributes);
    },

    async read(channel) {
      const { Item } = await dynamo("read sequence", () =>
        client.send(new GetItemCommand({ TableName: tableName, Key: keyOf(channel), ConsistentRead: true })),
      );
      return stateOf(Item);
    },

    async endJoin(channel, connectionId, seq, stale) {
      const names: Record<string, string> = { "#mark": `${JOIN_PREFIX}${connectionId}`, "#seq": "seq" };
      // A stale mark's connection could only have marked again by subscribing to this channel anew
      // after its earlier subscribe died; such a re-mark is cleared with it (it then hears live events
      // during its replay: duplicates on that one connection, never a loss).
      stale.slice(0, 20).forEach((staleId, index) => {
        names[`#stale${index}`] = `${JOIN_PREFIX}${staleId}`;
      });
      const removed = Object.keys(names).filter((name) => name !== "#seq");
      try {
        await update("clear a joining mark", channel, {
          UpdateExpression: `REMOVE ${removed.join(", ")}`,
          ConditionExpression: seq === 0 ? "attribute_not_exists(#seq)" : "#seq = :seq",
          ExpressionAttributeNames: names,
          ...(seq === 0 ? {} : { ExpressionAttributeValues: { ":seq": { N: String(seq) } } }),
        });
        return true;
      } catch (error) {
        if (error instanceof DependencyError && isConditionalFailure(error)) return false;
        throw error;
      }
    },

    async forceEndJoin(channel, connectionId) {
      const { Attributes } = await update("clear a joining mark", channel, {
        UpdateExpression: "REMOVE #mark",
        ExpressionAttributeNames: { "#mark": `${JOIN_PREFIX}${connectionId}` },
        ReturnValues: "ALL_NEW",
      });
      return stateOf(Attributes).seq;
    },
  };
}
