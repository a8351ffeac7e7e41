import { connect as tcpConnect } from "node:net";
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest } from "../../testing/index";
import type { Gateway } from "../index";
import {
  connect,
  connectionIdOf,
  EventLog,
  managementClient,
  open,
  recording,
  startTestGateway,
  type TestClient,
} from "./harness";

const SITE = "http://localhost:3000";

/** A raw HTTP/1.1 exchange: status line and body of the answer to `head` (+ body). */
function rawExchange(port: number, head: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1", () => socket.write(head));
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.on("end", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    socket.on("error", reject);
  });
}

/** A management client whose signed request is altered before it is sent (after signing). */
function tamperingClient(gateway: Gateway, tamper: (request: { body?: unknown; path: string }) => void) {
  const client = managementClient(gateway);
  client.middlewareStack.add(
    (next) => async (args) => {
      tamper(args.request as { body?: unknown; path: string });
      return next(args);
    },
    { step: "deserialize", name: "tamperAfterSigning" },
  );
  return client;
}

async function statusOf(promise: Promise<unknown>): Promise<{ status?: number; name?: string }> {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { $metadata?: { httpStatusCode?: number }; name?: string } | undefined;
  return { status: error?.$metadata?.httpStatusCode, name: error?.name };
}

describe("gateway: closed to everyone but this machine's own clients", () => {
  const events = new EventLog();
  let gateway: Gateway;
  let client: TestClient;
  let connectionId: string;

  beforeAll(async () => {
    ({ gateway } = await startTestGateway({
      allowedOrigins: [SITE],
      routes: {
        $connect: recording(events, "$connect"),
        $default: recording(events, "$default"),
        $disconnect: recording(events, "$disconnect"),
      },
    }));
    client = await open(gateway.url);
    connectionId = await connectionIdOf(client, events);
  });
  afterAll(async () => {
    client.socket.close();
    await gateway.close();
  });

  describe("@connections checks the SigV4 signature against the local credential pair", () => {
    it("accepts the unchanged SDK client signing with the local credentials", async () => {
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: gateway.managementEndpoint,
        region: LOCAL.region,
        credentials: { ...LOCAL_CREDENTIALS },
      });
      try {
        await sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "signed" }));
        expect((await client.next()).data).toBe("signed");
      } finally {
        sdk.destroy();
      }
    });

    it.each([
      [
        "a wrong secret",
        { ...LOCAL_CREDENTIALS, secretAccessKey: "not-the-local-secret" },
        "InvalidSignatureException",
      ],
      ["an unknown access key", { ...LOCAL_CREDENTIALS, accessKeyId: "AKIDEXAMPLE" }, "UnrecognizedClientException"],
    ])("refuses a request signed with %s (403, nothing delivered)", async (_case, credentials, errorType) => {
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: gateway.managementEndpoint,
        region: LOCAL.region,
        credentials,
      });
      try {
        const refused = await statusOf(
          sdk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "forged" })),
        );
        expect(refused).toEqual({ status: 403, name: errorType });
      } finally {
        sdk.destroy();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const sdkOk = managementClient(gateway);
      await sdkOk.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "after" }));
      sdkOk.destroy();
      expect((await client.next()).data).toBe("after");
    });

    it("refuses a signed request whose body or path was changed after signing", async () => {
      const body = tamperingClient(gateway, (req) => {
        req.body = "tampered";
      });
      const path = tamperingClient(gateway, (req) => {
        req.path = req.path.replace(/[^/]+$/, "AAAAAAAAAAAAAAA%3D");
      });
      try {
        expect(
          await statusOf(body.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: "original" }))),
        ).toEqual({ status: 403, name: "InvalidSignatureException" });
        expect(await statusOf(path.send(new GetConnectionCommand({ ConnectionId: connectionId })))).toEqual({
          status: 403,
          name: "InvalidSignatureException",
        });
      } finally {
        body.destroy();
        path.destroy();
      }
    });

    it("refuses a signature made too long ago, in a way the SDK corrects its clock from (as on AWS)", async () => {
      const sdk = new ApiGatewayManagementApiClient({
        endpoint: gateway.managementEndpoint,
        region: LOCAL.region,
        credentials: { ...LOCAL_CREDENTIALS },
        systemClockOffset: -20 * 60 * 1000,
        maxAttempts: 1,
      });
      try {
        expect(await statusOf(sdk.send(new GetConnectionCommand({ ConnectionId: connectionId })))).toEqual({
          status: 403,
          name: "InvalidSignatureException",
        });
        // The SDK took the server's Date from the refusal; the next signature is current.
        await sdk.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      } finally {
        sdk.destroy();
      }
    });

    it.each([
      ["missing", undefined, "MissingAuthenticationTokenException", "Missing Authentication Token"],
      ["malformed", "AWS4-HMAC-SHA256 x", "IncompleteSignatureException", undefined],
      [
        "made up",
        `AWS4-HMAC-SHA256 Credential=${LOCAL_CREDENTIALS.accessKeyId}/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
        "IncompleteSignatureException",
        undefined,
      ],
    ])(
      "answers a %s Authorization header with 403 and API Gateway's error type",
      async (_case, authorization, type, message) => {
        const response = await fetch(`${gateway.managementEndpoint}/@connections/${encodeURIComponent(connectionId)}`, {
          method: "POST",
          body: "unsigned",
          headers: authorization ? { authorization } : {},
        });
        expect(response.status).toBe(403);
        expect(response.headers.get("x-amzn-errortype")).toBe(type);
        const answer = (await response.json()) as { message: string };
        if (message) expect(answer.message).toBe(message);
        else expect(answer.message.length).toBeGreaterThan(0);
      },
    );
  });

  describe("only loopback host names", () => {
    it.each(["evil.example", "evil.example:3001", "127.0.0.1.evil.example"])(
      "refuses an HTTP request for Host %s with 421",
      async (host) => {
        const answer = await httpRequest(`${gateway.managementEndpoint}/@connections/x`, { headers: { host } });
        expect(answer.status).toBe(421);
      },
    );

    it("refuses an upgrade for a foreign Host with 421 before the authorizer or $connect run", async () => {
      const before = events.of("$connect").length;
      const result = await connect(gateway.url, [], { headers: { host: "evil.example" } });
      expect(result).toMatchObject({ ok: false, status: 421 });
      expect(events.of("$connect").length).toBe(before);
    });

    it.each(["localhost", "127.0.0.1", "[::1]"])("serves Host %s (with the port)", async (name) => {
      const answer = await httpRequest(`${gateway.managementEndpoint}/@connections/x`, {
        headers: { host: `${name}:${gateway.port}` },
      });
      expect(answer.status).toBe(403); // past the host check: no signature
    });
  });

  describe("the WebSocket upgrade and browser origins", () => {
    it("refuses an upgrade from another origin with 403 before $connect runs", async () => {
      const before = events.of("$connect").length;
      const result = await connect(gateway.url, [], { origin: "https://evil.example" });
      expect(result).toMatchObject({ ok: false, status: 403 });
      expect(events.of("$connect").length).toBe(before);
    });

    it("accepts the site's origin and clients that send none", async () => {
      const fromSite = await open(gateway.url, [], { origin: SITE });
      const fromNode = await open(gateway.url);
      fromSite.socket.close();
      fromNode.socket.close();
    });
  });

  it("answers a handshake whose headers are over the limit with 431", async () => {
    const answer = await rawExchange(
      gateway.port,
      `GET /${LOCAL.stage} HTTP/1.1\r\nHost: 127.0.0.1:${gateway.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
  });
});
