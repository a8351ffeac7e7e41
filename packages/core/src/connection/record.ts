import { type ConnectionIdentity, connectionIdentityOf } from "../auth/index";
import { shardOf } from "./schema";

/** A live connection as the registry stores it: the connection's identity and the facts of its socket. */
export interface ConnectionRecord extends ConnectionIdentity {
  connectionId: string;
  /** Epoch milliseconds (API Gateway's `connectedAt`). */
  connectedAt: number;
  /** TTL, epoch seconds. */
  expireAt: number;
  sourceIp?: string;
  userAgent?: string;
}

/** A registry row of the connection entity, as ElectroDB reads and writes it. */
export interface ConnectionRow extends Omit<ConnectionRecord, "email" | "sourceIp" | "userAgent"> {
  shard: string;
  email?: string;
  sourceIp?: string;
  userAgent?: string;
}

/** A row as read back: every attribute may be missing or of another type (the table is shared). */
export type StoredRow = { [K in keyof ConnectionRecord]?: ConnectionRecord[K] | undefined } & Record<string, unknown>;

/** Encodes a record as its registry row (the shard is derived from the connection id). */
export function encodeConnectionRow(record: ConnectionRecord): ConnectionRow {
  return {
    shard: shardOf(record.connectionId),
    connectionId: record.connectionId,
    ...connectionIdentityOf(record, record.transport),
    connectedAt: record.connectedAt,
    expireAt: record.expireAt,
    ...(record.sourceIp ? { sourceIp: record.sourceIp } : {}),
    ...(record.userAgent ? { userAgent: record.userAgent } : {}),
  };
}

/** Decodes a registry row back into a record. */
export function decodeConnectionRow(row: StoredRow | ConnectionRow): ConnectionRecord {
  const record: ConnectionRecord = {
    connectionId: String(row.connectionId),
    userId: String(row.userId),
    username: String(row.username),
    groups: Array.isArray(row.groups) ? row.groups.map(String) : [],
    connectedAt: Number(row.connectedAt),
    tokenExp: Number(row.tokenExp),
    expireAt: Number(row.expireAt),
    transport: row.transport === "subprotocol" ? "subprotocol" : "query",
  };
  if (typeof row.authTime === "number" && Number.isFinite(row.authTime)) record.authTime = row.authTime;
  if (row.email) record.email = row.email;
  if (row.sourceIp) record.sourceIp = row.sourceIp;
  if (row.userAgent) record.userAgent = row.userAgent;
  return record;
}
