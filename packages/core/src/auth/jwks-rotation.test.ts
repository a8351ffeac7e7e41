import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  capturedLogs,
  generateSigningKey,
  type JwksServer,
  type SigningKey,
  signIdToken,
  startJwksServer,
} from "../testing/index";
import { createTokenVerifier, type TokenVerifier } from "./verifier";

const POOL = "local_rotation";
const CLIENT = "rotation-client";

/** Polls until `check` holds (the background refresh lands asynchronously). */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pool's JWKS is served by a server this test controls; the key set ages out and is refetched. */
describe("key rotation: the key set ages out", () => {
  let kept: SigningKey;
  let retired: SigningKey;
  let server: JwksServer;

  beforeAll(async () => {
    kept = generateSigningKey("kept");
    retired = generateSigningKey("retired");
    server = await startJwksServer(POOL, [kept, retired]);
  });
  afterAll(() => server.close());

  const verifierWith = (lifetime: { refreshAfterMs: number; maxAgeMs: number }, jwksSnapshot?: string) =>
    createTokenVerifier({
      userPoolId: POOL,
      clientId: CLIENT,
      local: { issuer: server.issuer, jwksUri: server.jwksUri },
      jwksLifetime: { ...lifetime, retryAfterMs: 20 },
      unknownKidCooldownSeconds: 0,
      ...(jwksSnapshot ? { jwksSnapshot } : {}),
    });
  const tokenOf = (key: SigningKey) => signIdToken(key, { issuer: server.issuer, clientId: CLIENT, sub: key.kid });
  const reasonOf = async (verifier: TokenVerifier, token: string) => {
    const outcome = await verifier.check(token);
    return outcome.ok ? "accepted" : outcome.reason;
  };

  it("refuses a token signed by a key removed from the JWKS once the set has been refreshed", async () => {
    server.setKeys([kept, retired]);
    const verifier = verifierWith({ refreshAfterMs: 300, maxAgeMs: 60_000 });
    const [keptToken, retiredToken] = [tokenOf(kept), tokenOf(retired)];
    expect(await reasonOf(verifier, retiredToken)).toBe("accepted");
    expect(await reasonOf(verifier, keptToken)).toBe("accepted");

    server.setKeys([kept]);
    // Inside the lifetime nothing is fetched: the set (and verdicts cached on it) still stand.
    const requests = server.requests();
    expect(await reasonOf(verifier, retiredToken)).toBe("accepted");
    expect(server.requests()).toBe(requests);

    await sleep(350);
    // Due: this answer still comes from the current set while the refresh runs in the background.
    expect(await reasonOf(verifier, retiredToken)).toBe("accepted");
    expect(await eventually(async () => (await reasonOf(verifier, retiredToken)) === "kid_unknown")).toBe(true);
    expect(server.requests()).toBeGreaterThan(requests);
    expect(await reasonOf(verifier, keptToken)).toBe("accepted");
  });

  it("takes a deploy-time snapshot only as a bootstrap: the first use refetches it", async () => {
    server.setKeys([kept]);
    const snapshot = JSON.stringify({ keys: [kept.publicJwk, retired.publicJwk] });
    const verifier = verifierWith({ refreshAfterMs: 60 * 60 * 1000, maxAgeMs: 6 * 60 * 60 * 1000 }, snapshot);
    const requests = server.requests();
    // Served from the snapshot at once (no fetch on the request path)...
    expect(await reasonOf(verifier, tokenOf(retired))).toBe("accepted");
    // ...which is refreshed in the background straight away, hours before its lifetime is up.
    expect(await eventually(async () => (await reasonOf(verifier, tokenOf(retired))) === "kid_unknown")).toBe(true);
    expect(server.requests()).toBeGreaterThan(requests);
    expect(await reasonOf(verifier, tokenOf(kept))).toBe("accepted");
  });

  it("stops trusting a set it could not refresh for longer than its maximum age (fails closed, logged)", async () => {
    server.setKeys([kept]);
    const verifier = verifierWith({ refreshAfterMs: 50, maxAgeMs: 300 });
    const token = tokenOf(kept);
    expect(await reasonOf(verifier, token)).toBe("accepted");
    server.setMode("down");
    try {
      await sleep(80);
      expect(await reasonOf(verifier, token)).toBe("accepted"); // due, refresh fails, old set still in use
      expect(
        await eventually(
          async () => capturedLogs().find({ message: "JWKS refresh failed; the current keys stay in use" }).length > 0,
        ),
      ).toBe(true);
      await sleep(300);
      expect(await reasonOf(verifier, token)).toBe("jwks_unavailable");
    } finally {
      server.setMode("ok");
    }
    expect(await eventually(async () => (await reasonOf(verifier, token)) === "accepted")).toBe(true);
  });
});
