import { AwsV4Signer } from "aws4fetch";
import { CONNECTION_SERVICE, CONNECTIONS_TABLE, REVOCATION } from "../constants/index";
import { DependencyError } from "../errors/index";
import type { NotBeforeSource } from "./revocation-check";

/**
 * The revocation entity's name and version, and its one sort-key value: ElectroDB builds the record's
 * keys from them (`@wsauth/core/revocation`), and so does this lookup, which bundles no ElectroDB.
 */
export const REVOCATION_ENTITY = { entity: "revocation", version: "1" } as const;
export const REVOCATION_SCOPE = "user";

/**
 * The `$connect` authorizer's read of a user's revocation record: one strongly consistent GetItem over
 * `fetch` in DynamoDB's JSON protocol, signed with SigV4 by `aws4fetch` (a few KB, WebCrypto) with the function's own
 * credentials from the Lambda environment, so the authorizer bundles no AWS SDK. Each user's answer is
 * kept for REVOCATION.lookupCacheMs per container (concurrent lookups of one user share one request):
 * the bound on how long a warm container can accept a revoked token after the record is written.
 */

export interface RevocationLookupOptions {
  tableName: string;
  /** Region, credentials and endpoint (`AWS_ENDPOINT_URL_DYNAMODB` locally); default `process.env`. */
  env?: Record<string, string | undefined>;
  cacheMs?: number;
  maxEntries?: number;
  /** Budget for one GetItem (default 1500 ms, as for the JWKS). */
  timeoutMs?: number;
  /** Clock in epoch milliseconds (tests pin it). */
  now?: () => number;
  fetch?: typeof fetch;
}

export interface RevocationLookup extends NotBeforeSource {
  /** Forgets every cached answer (tests; a container never needs it). */
  clear(): void;
}

const TARGET = "DynamoDB_20120810.GetItem";
const CONTENT_TYPE = "application/x-amz-json-1.0";

/** The item key ElectroDB gives the revocation entity (schema.ts; the lookup test compares the two). */
export function revocationKeyOf(userId: string): { pk: string; sk: string } {
  return {
    pk: `$${CONNECTION_SERVICE}#userId_${userId}`,
    sk: `$${REVOCATION_ENTITY.entity}_${REVOCATION_ENTITY.version}#scope_${REVOCATION_SCOPE}`,
  };
}

interface AttributeValue {
  N?: string;
}

/** `notBefore` of a GetItem answer, if the item exists and has not passed its TTL at `nowSeconds`. */
export function notBeforeOfItem(item: Record<string, AttributeValue> | undefined, nowSeconds: number) {
  if (!item) return undefined;
  const notBefore = Number(item.notBefore?.N);
  const expireAt = Number(item[CONNECTIONS_TABLE.ttl]?.N);
  if (!Number.isFinite(notBefore)) return undefined;
  // TTL deletes late (and the local DynamoDB never does): an expired record no longer counts.
  if (Number.isFinite(expireAt) && expireAt <= nowSeconds) return undefined;
  return notBefore;
}

export function createRevocationLookup(options: RevocationLookupOptions): RevocationLookup {
  const env = options.env ?? process.env;
  const cacheMs = options.cacheMs ?? REVOCATION.lookupCacheMs;
  const maxEntries = options.maxEntries ?? REVOCATION.lookupCacheEntries;
  const timeoutMs = options.timeoutMs ?? 1500;
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1";
  const endpoint = new URL(
    env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || `https://dynamodb.${region}.amazonaws.com`,
  );
  const answers = new Map<string, { notBefore: number | undefined; at: number }>();
  const inFlight = new Map<string, Promise<number | undefined>>();
  /** The signer's cache of derived signing keys (one per day, region and service). */
  const signingKeys = new Map<string, ArrayBuffer>();

  async function read(userId: string): Promise<number | undefined> {
    const body = JSON.stringify({
      TableName: options.tableName,
      Key: Object.fromEntries(Object.entries(revocationKeyOf(userId)).map(([name, value]) => [name, { S: value }])),
      ConsistentRead: true,
      ProjectionExpression: "notBefore, #ttl",
      ExpressionAttributeNames: { "#ttl": CONNECTIONS_TABLE.ttl },
    });
    let response: Response;
    try {
      const signed = await new AwsV4Signer({
        method: "POST",
        url: endpoint.href,
        headers: { "content-type": CONTENT_TYPE, "x-amz-target": TARGET },
        body,
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
        ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        service: "dynamodb",
        region,
        cache: signingKeys,
      }).sign();
      response = await doFetch(signed.url, {
        method: "POST",
        headers: signed.headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new DependencyError("revocation lookup: GetItem failed", { cause: error });
    }
    const text = await response.text().catch(() => "");
    if (!response.ok) {
      // DynamoDB's error type only (`__type`); the body never holds a credential.
      const type = /"__type"\s*:\s*"([^"]*)"/.exec(text)?.[1] ?? "unknown";
      throw new DependencyError(`revocation lookup: GetItem answered ${response.status} (${type})`);
    }
    let parsed: { Item?: Record<string, AttributeValue> };
    try {
      parsed = JSON.parse(text) as { Item?: Record<string, AttributeValue> };
    } catch (error) {
      throw new DependencyError("revocation lookup: GetItem answered no JSON", { cause: error });
    }
    return notBeforeOfItem(parsed.Item, Math.floor(now() / 1000));
  }

  return {
    notBefore(userId) {
      const cached = answers.get(userId);
      if (cached && now() - cached.at < cacheMs) return cached.notBefore;
      const pending = inFlight.get(userId);
      if (pending) return pending;
      const started = now();
      const lookup = read(userId).then(
        (notBefore) => {
          inFlight.delete(userId);
          answers.delete(userId);
          while (answers.size >= maxEntries) {
            const oldest = answers.keys().next();
            if (oldest.done) break;
            answers.delete(oldest.value);
          }
          // Dated from when the read started: the record may have been written while it ran.
          answers.set(userId, { notBefore, at: started });
          return notBefore;
        },
        (error: unknown) => {
          inFlight.delete(userId);
          throw error;
        },
      );
      inFlight.set(userId, lookup);
      return lookup;
    },
    clear() {
      answers.clear();
    },
  };
}
