import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConnectionStore } from "@wsauth/core/connection";
import { LOCAL } from "@wsauth/core/constants";
import { type ConnectionsServer, startConnectionsServer } from "@wsauth/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "../dynamo";
import { runWs } from "./ws";

const TABLE = "cli-test";

describe("pnpm ws (against dynalite and an @connections server)", () => {
  let dynamo: LocalDynamo;
  let gateway: ConnectionsServer;
  let rootDir = "";
  let emptyDir = "";

  async function run(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runWs(argv, { out: (line) => out.push(line), err: (line) => err.push(line), rootDir });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  beforeAll(async () => {
    [dynamo, gateway] = await Promise.all([startDynamo({ port: 0 }), startConnectionsServer(LOCAL.stage)]);
    await createConnectionsTable(localDynamoClient(dynamo.endpoint), TABLE);
    rootDir = await mkdtemp(join(tmpdir(), "wsauth-cli-"));
    emptyDir = await mkdtemp(join(tmpdir(), "wsauth-cli-empty-"));
    await mkdir(join(rootDir, ".local"));
    await writeFile(
      join(rootDir, LOCAL.outputsFile),
      JSON.stringify({
        region: LOCAL.region,
        tableName: TABLE,
        managementEndpoint: gateway.endpoint,
        dynamoEndpoint: dynamo.endpoint,
      }),
    );
    const store = createConnectionStore({ tableName: TABLE, client: localDynamoClient(dynamo.endpoint) });
    for (const connectionId of ["Cli1=", "Cli2="]) {
      gateway.open(connectionId);
      await store.register({
        connectionId,
        identity: {
          userId: "sub-cli",
          username: "cli@example.com",
          groups: [],
          tokenExp: Math.floor(Date.now() / 1000) + 3600,
          transport: "query",
        },
        connectedAt: Date.now(),
      });
    }
  });
  afterAll(async () => {
    await Promise.all([
      dynamo.stop(),
      gateway.stop(),
      rm(rootDir, { recursive: true }),
      rm(emptyDir, { recursive: true }),
    ]);
  });

  it("send pushes to every connection of a user by username and prints the report", async () => {
    const result = await run("send", "--user", "cli@example.com", '{"hello":"cli"}');
    expect(result).toMatchObject({ code: 0 });
    expect(JSON.parse(result.out)).toEqual({ delivered: 2, gone: 0, failed: 0 });
    for (const id of ["Cli1=", "Cli2="]) {
      expect(gateway.received(id)).toEqual([
        {
          type: "message",
          from: { userId: "system", username: "system" },
          data: { hello: "cli" },
          sentAt: expect.any(String),
        },
      ]);
    }
  });

  it("list prints live connections", async () => {
    const result = await run("list", "--json");
    expect(result.code).toBe(0);
    expect(
      JSON.parse(result.out)
        .map((row: { connectionId: string }) => row.connectionId)
        .sort(),
    ).toEqual(["Cli1=", "Cli2="]);
    const table = await run("list");
    expect(table.out).toContain("Cli1=\tcli@example.com\tsub-cli\tquery");
  });

  it("takes explicit flags instead of an outputs file", async () => {
    const result = await run(
      "list",
      "--json",
      "--table",
      TABLE,
      "--endpoint",
      gateway.endpoint,
      "--region",
      LOCAL.region,
      "--dynamo-endpoint",
      dynamo.endpoint,
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toHaveLength(2);
  });

  it("explains missing outputs, bad JSON and bad usage", async () => {
    const local = await run("list", "--outputs", join(emptyDir, "outputs.json"));
    expect(local.code).toBe(1);
    expect(local.err).toMatch(/not found: start the local stack first/);
    const stage = await run("list", "--stage", "production", "--outputs", join(emptyDir, "none.json"));
    expect(stage.err).toMatch(/sst deploy --stage production/);
    // Outputs of another stage (the last `sst dev`, say) are refused, never used for "production".
    const otherStage = join(emptyDir, "other-stage.json");
    await writeFile(
      otherStage,
      JSON.stringify({ stage: "alice", tableName: TABLE, managementEndpoint: gateway.endpoint, region: LOCAL.region }),
    );
    const wrong = await run("list", "--stage", "production", "--outputs", otherStage);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/holds the outputs of stage "alice", not "production"/);
    expect((await run("send", "--user", "x", "{nope")).err).toMatch(/invalid_json/);
    expect((await run("send", "{}")).err).toMatch(/--user/);
    expect((await run("list", "--table", TABLE)).err).toMatch(/go together/);
    expect((await run("frobnicate")).code).toBe(2);
    expect((await run("list", "--bogus")).code).toBe(2);
  });
});
