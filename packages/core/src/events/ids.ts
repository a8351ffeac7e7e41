import { randomFillSync } from "node:crypto";

/**
 * Identifiers shaped like API Gateway's: 11 random bytes in standard base64, i.e. 16 characters ending
 * in "=" ("L0SM9cOFvHcCIhw="). They may contain "+" and "/", so clients must URL-encode them, exactly
 * as they must on AWS. Random bytes are drawn from a pool to keep the per-message path cheap.
 */
const ID_BYTES = 11;
const POOL_IDS = 512;
const pool = Buffer.alloc(ID_BYTES * POOL_IDS);
let poolOffset = pool.length;

export function newId(): string {
  if (poolOffset >= pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const id = pool.toString("base64", poolOffset, poolOffset + ID_BYTES);
  poolOffset += ID_BYTES;
  return id;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (value: number) => (value < 10 ? `0${value}` : String(value));

let cachedSecond = -1;
let cachedRequestTime = "";

/** `requestTime` as API Gateway writes it ("19/Mar/2019:09:39:18 +0000"); cached per second. */
export function formatRequestTime(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== cachedSecond) {
    const date = new Date(second * 1000);
    cachedRequestTime =
      `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
      `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
    cachedSecond = second;
  }
  return cachedRequestTime;
}
