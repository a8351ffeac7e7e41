import { createConnectionStore } from "@wsauth/core/connection";
import type { LocalOutputs } from "@wsauth/core/constants";
import { localDynamoClient } from "@wsauth/local/dynamo";

/** Connection rows in the stack's registry, expired ones included (what a leak would leave behind). */
export async function countRegistryRows(outputs: LocalOutputs): Promise<number> {
  const client = localDynamoClient(outputs.dynamoEndpoint);
  try {
    let count = 0;
    const store = createConnectionStore({ tableName: outputs.tableName, client });
    for await (const page of store.walk({ includeExpired: true })) count += page.length;
    return count;
  } finally {
    client.destroy();
  }
}

/**
 * Re-checks `read` until it returns `expected` or `attempts` run out, and returns the last value.
 * For state that settles after an event the test cannot await directly (a `$disconnect` that runs
 * after the socket closed); the assertion is on the value, never on how long it took.
 */
export async function settle<T>(read: () => Promise<T> | T, expected: T, attempts = 400, pauseMs = 25): Promise<T> {
  let value = await read();
  for (let attempt = 1; attempt < attempts && value !== expected; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    value = await read();
  }
  return value;
}
