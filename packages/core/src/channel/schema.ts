import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Entity } from "electrodb";
import { keysOf } from "../connection/index";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE } from "../constants/index";

/**
 * Channel rows share the registry table (keys from CONNECTIONS_TABLE; ElectroDB prefixes every key
 * with its entity, so the row kinds never collide):
 *
 * - subscription: `pk = channel`, `sk = connectionId` (fan-out is one Query); on the table's one GSI
 *   `gsi1pk = connectionId`, `gsi1sk = channel` (cleanup of a connection on `$disconnect`, sweep, 410).
 * - presence: `pk = channel`, `sk = userId`, with the set of that user's subscribed connection ids.
 *   Set updates are atomic, so a join or leave is the transition of the set from or to empty,
 *   whatever the other connections of that user do at the same moment (no transactions needed).
 * - sequence: `pk = channel`, one row whose `seq` is bumped by an atomic ADD per event; it also holds
 *   the marks of connections joining the channel (see sequence.ts).
 * - history: `pk = channel`, `sk = seq` (zero-padded, so the sort order is numeric), `expireAt` TTL.
 */
const { primaryIndex, globalIndexes, ttl } = CONNECTIONS_TABLE;
/** The table's one GSI; connection rows use it by user, subscription rows by connection. */
const SECONDARY = "byUser" satisfies keyof typeof globalIndexes;

const SEQ_DIGITS = 15;

export function createSubscriptionEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "subscription", version: "1" },
      attributes: {
        channel: { type: "string", required: true, readOnly: true },
        connectionId: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true },
        username: { type: "string", required: true },
        /**
         * The channel's seq when the subscription began: events up to it reach the connection through
         * its replay (or not at all), never live. Rows written before it existed read as 0.
         */
        fromSeq: { type: "number" },
        expireAt: { type: "number", required: true, field: ttl },
      },
      indexes: {
        primary: keysOf(primaryIndex, "channel", "connectionId"),
        byConnection: { index: SECONDARY, ...keysOf(globalIndexes.byUser, "connectionId", "channel") },
      },
    },
    { client, table },
  );
}

export function createPresenceEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "presence", version: "1" },
      attributes: {
        channel: { type: "string", required: true, readOnly: true },
        userId: { type: "string", required: true, readOnly: true },
        username: { type: "string" },
        connections: { type: "set", items: "string" },
        expireAt: { type: "number", field: ttl },
      },
      indexes: { primary: keysOf(primaryIndex, "channel", "userId") },
    },
    { client, table },
  );
}

export function createSequenceEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "sequence", version: "1" },
      attributes: {
        channel: { type: "string", required: true, readOnly: true },
        seq: { type: "number" },
        expireAt: { type: "number", field: ttl },
      },
      indexes: {
        primary: {
          pk: { field: primaryIndex.hashKey, composite: ["channel"], casing: "none" },
          sk: { field: primaryIndex.rangeKey, composite: [], casing: "none" },
        },
      },
    },
    { client, table },
  );
}

export function createHistoryEntity(client: DynamoDBClient, table: string) {
  return new Entity(
    {
      model: { service: CONNECTION_SERVICE, entity: "history", version: "1" },
      attributes: {
        channel: { type: "string", required: true, readOnly: true },
        seq: { type: "number", required: true, readOnly: true, padding: { length: SEQ_DIGITS, char: "0" } },
        fromUserId: { type: "string", required: true },
        fromUsername: { type: "string", required: true },
        /** The event's data as JSON text: DynamoDB numbers cannot hold every JSON number. */
        data: { type: "string", required: true },
        /** Epoch milliseconds. */
        sentAt: { type: "number", required: true },
        /**
         * A seq that was taken but whose event was never stored in time: a replay that waited for it
         * wrote this row instead, and the late publish fails (the event is not published).
         */
        voided: { type: "boolean" },
        expireAt: { type: "number", required: true, field: ttl },
      },
      indexes: { primary: keysOf(primaryIndex, "channel", "seq") },
    },
    { client, table },
  );
}
