import { createHash, createHmac } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { SignatureV4 } from "@smithy/signature-v4";
import { describe, expect, it } from "vitest";
import { createSigV4Verifier } from "./sigv4.js";

// The verifier computes the signature of a request without a query itself (the signing key derived
// once per date). Each case here is signed by the SDK's own signer and must verify; any change after
// signing must not.

const credentials = { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" };
const region = "us-east-1";
const NOW = Date.UTC(2026, 11, 4, 19, 0, 0);

class Sha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      secret === undefined || typeof secret === "string"
        ? secret
        : ArrayBuffer.isView(secret)
          ? Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength)
          : Buffer.from(secret);
    this.#hash = key === undefined ? createHash("sha256") : createHmac("sha256", key);
  }
  update(data: Uint8Array) {
    this.#hash.update(data);
  }
  async digest() {
    return new Uint8Array(this.#hash.digest());
  }
  reset() {}
}

async function signed(
  method: string,
  path: string,
  body?: string,
  query?: Record<string, string>,
  at = NOW,
): Promise<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer | undefined }> {
  const signer = new SignatureV4({ credentials, region, service: "execute-api", sha256: Sha256 });
  const request = await signer.sign(
    {
      method,
      protocol: "http:",
      hostname: "127.0.0.1",
      port: 3001,
      path,
      ...(query ? { query } : {}),
      headers: {
        host: "127.0.0.1:3001",
        "content-type": "application/json",
        "x-padded": "  two   spaces  ",
        ...(body ? { "content-length": String(Buffer.byteLength(body)) } : {}),
      },
      ...(body ? { body } : {}),
    },
    { signingDate: new Date(at) },
  );
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  const search = query ? `?${new URLSearchParams(query)}` : "";
  return { method, url: `${path}${search}`, headers, body: body ? Buffer.from(body) : undefined };
}

describe("SigV4 verification of @connections requests", () => {
  const verify = createSigV4Verifier({ credentials, region, now: () => NOW });
  // Connection ids hold "+", "/" and "="; the SDK sends them percent-encoded.
  const paths = ["a+b/c=", "Zm9vYmFy", "x y", "(id)*!'"].map((id) => `/local/@connections/${encodeURIComponent(id)}`);

  it("accepts what the SDK's signer signed: every method, encoded ids, bodies, padded headers, a query", async () => {
    for (const path of paths) {
      for (const [method, body] of [
        ["POST", '{"type":"pong"}'],
        ["GET", undefined],
        ["DELETE", undefined],
      ] as const) {
        expect(await verify(await signed(method, path, body))).toEqual({ ok: true });
      }
    }
    expect(await verify(await signed("GET", paths[0] ?? "", undefined, { b: "2", a: "x y" }))).toEqual({ ok: true });
  });

  it("refuses a changed body, path, method or signed header, and another day's key", async () => {
    const request = await signed("POST", paths[0] ?? "", '{"type":"pong"}');
    const refused = { ok: false, errorType: "InvalidSignatureException" };
    expect(await verify({ ...request, body: Buffer.from('{"type":"echo"}') })).toMatchObject(refused);
    expect(await verify({ ...request, url: paths[1] ?? "" })).toMatchObject(refused);
    expect(await verify({ ...request, method: "DELETE" })).toMatchObject(refused);
    expect(await verify({ ...request, headers: { ...request.headers, "x-padded": "two spaces!" } })).toMatchObject(
      refused,
    );
    // The key is cached per date: after a request of the next day, one of this day still verifies.
    let clock = NOW + 24 * 3600 * 1000;
    const verifyAt = createSigV4Verifier({ credentials, region, now: () => clock });
    expect(await verifyAt(await signed("POST", paths[0] ?? "", "{}", undefined, clock))).toEqual({ ok: true });
    clock = NOW;
    expect(await verifyAt(await signed("POST", paths[0] ?? "", "{}"))).toEqual({ ok: true });
    // Another secret: refused.
    const forged = createSigV4Verifier({
      credentials: { ...credentials, secretAccessKey: "other" },
      region,
      now: () => NOW,
    });
    expect(await forged(request)).toMatchObject(refused);
  });
});
