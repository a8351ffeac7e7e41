import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tryConnect } from "../../bench/lib/clients";
import { settle } from "../../bench/lib/registry";
import { createLoadUsers, type LoadUser } from "../../bench/lib/users";
import { type FaultStack, startFaultStack } from "./support/fault-stack";

/** Cognito's JWKS endpoint is unreachable when the authorizer starts cold: deny, then recover. */
describe("JWKS unreachable at the authorizer's cold start", () => {
  let stack: FaultStack;
  let user: LoadUser;

  beforeAll(async () => {
    stack = await startFaultStack({ jwksDown: true });
    [user] = (await createLoadUsers(stack.outputs, 1, "jwks")) as [LoadUser];
  }, 120_000);
  afterAll(() => stack?.stop());

  it("denies connections while the keys cannot be fetched and accepts them once they can", async () => {
    const denied = await tryConnect(stack.outputs.webSocketUrl, user.idToken);
    expect(denied.ok).toBe(false);
    if (!denied.ok) expect([401, 500]).toContain(denied.status);
    expect(stack.gateway.connectionCount()).toBe(0);

    await stack.jwksProxy.restore();
    // The authorizer fails fast for a short cooldown after a failed fetch; retry until it lets us in.
    const accepted = await settle(
      async () => {
        const outcome = await tryConnect(stack.outputs.webSocketUrl, user.idToken);
        if (outcome.ok) {
          await outcome.client.close();
          return true;
        }
        return false;
      },
      true,
      100,
      100,
    );
    expect(accepted).toBe(true);
    expect(await settle(() => stack.gateway.connectionCount(), 0)).toBe(0);
    // The denied attempts never reached `$connect`; the accepted one was removed by its `$disconnect`.
    const rows = async () => {
      let count = 0;
      for await (const page of stack.store.walk({ includeExpired: true })) count += page.length;
      return count;
    };
    expect(await settle(rows, 0)).toBe(0);
  });
});
