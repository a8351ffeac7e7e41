import { createServer, type Server, type Socket } from "node:net";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createMessenger } from "@wsauth/core/messaging";
import { capturedLogs } from "@wsauth/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dependencyRequestHandler } from "./runtime";

/** A dependency that accepts connections and never answers. */
function startStalledServer(): Promise<{ endpoint: string; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => sockets.add(socket));
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      resolve({ endpoint: `http://127.0.0.1:${port}`, server, sockets });
    }),
  );
}

describe("clients of the handlers against a stalled dependency", () => {
  let stalled: Awaited<ReturnType<typeof startStalledServer>>;
  const credentials = { ...LOCAL_CREDENTIALS };

  beforeAll(async () => {
    stalled = await startStalledServer();
  });
  afterAll(() => {
    for (const socket of stalled.sockets) socket.destroy();
    stalled.server.close();
  });

  it("give up and report dependency_failed instead of hanging the handler", async () => {
    const dynamo = new DynamoDBClient({
      endpoint: stalled.endpoint,
      region: LOCAL.region,
      credentials,
      maxAttempts: 1,
      requestHandler: dependencyRequestHandler,
    });
    const store = createConnectionStore({ tableName: "stalled", client: dynamo });
    await expect(store.get("c1=")).rejects.toMatchObject({ code: "dependency_failed" });

    const management = new ApiGatewayManagementApiClient({
      endpoint: `${stalled.endpoint}/${LOCAL.stage}`,
      region: LOCAL.region,
      credentials,
      maxAttempts: 1,
      requestHandler: dependencyRequestHandler,
    });
    const messenger = createMessenger({ endpoint: stalled.endpoint, store, client: management });
    expect(await messenger.toConnection("c1=", { type: "pong" })).toEqual({ delivered: 0, gone: 0, failed: 1 });
    const [failure] = capturedLogs().find({
      level: "ERROR",
      message: "send to connection failed",
      connectionId: "c1=",
    });
    expect(failure).toMatchObject({ code: "dependency_failed", error: { name: "TimeoutError" } });
  }, 40_000);
});
