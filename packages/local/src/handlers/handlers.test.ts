import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Reporter } from "../runner";
import { REPO_ROOT } from "../stack";
import { type HandlerHost, startHandlerHost } from "./index";

/**
 * The handler host against a throw-away `packages/functions` (so the test can add, break and change
 * handlers without touching the real ones). Its node_modules is the repository's, for `sst`.
 */

const context = {
  functionName: "test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:000000000000:function:test",
  memoryLimitInMB: "128",
  awsRequestId: "request-1",
  logGroupName: "/aws/lambda/test",
  logStreamName: "local",
  getRemainingTimeInMillis: () => 5_000,
} as Context;

describe("handler host (esbuild bundles in a worker thread)", () => {
  let root: string;
  let functionsDir: string;
  let host: HandlerHost;
  const lines: string[] = [];
  const reporter: Reporter = {
    info: (line) => lines.push(line),
    warn: (line) => lines.push(line),
    error: (line) => lines.push(line),
  };
  const write = (name: string, source: string) => writeFile(join(functionsDir, `${name}.ts`), source);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "wsauth-handlers-"));
    functionsDir = join(root, "packages", "functions", "src");
    await mkdir(functionsDir, { recursive: true });
    await mkdir(join(root, "packages", "core", "src"), { recursive: true });
    await symlink(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
    await write(
      "default",
      `import { Resource } from "sst";
       export const handler = async (event: { body?: string }) => ({
         statusCode: 200,
         body: JSON.stringify({ v: 1, table: Resource.Connections.name, app: Resource.App.stage, got: event.body }),
       });`,
    );
    await write("authorizer", `export const handler = async () => { throw new Error("Unauthorized"); };`);
    host = await startHandlerHost({
      stateDir: join(root, ".local"),
      env: {
        SST_RESOURCE_App: JSON.stringify({ name: "wsauth", stage: "local" }),
        SST_RESOURCE_Connections: JSON.stringify({ name: "table-from-env", type: "sst.aws.Dynamo" }),
      },
      watch: false,
      quiet: true,
      reporter,
      integrationTimeoutMs: 1_000,
      root,
    });
  });
  afterAll(async () => {
    await host?.close();
    await rm(root, { recursive: true, force: true });
  });

  it("runs a bundled handler that reads its linked resources through sst's Resource", async () => {
    const result = (await host.routes.$default?.({ body: "hi" }, context)) as { body: string };
    expect(JSON.parse(result.body)).toEqual({ v: 1, table: "table-from-env", app: "local", got: "hi" });
  });

  it("keeps a thrown error's name and message (the gateway maps Unauthorized to 401)", async () => {
    await expect(host.authorizer({}, context)).rejects.toMatchObject({ message: "Unauthorized" });
  });

  it("names a missing handler module and the fix", async () => {
    expect(host.status().missing).toContain("whoami");
    await expect(host.routes.whoami?.({}, context)).rejects.toThrow(
      "handler module packages/functions/src/whoami.ts does not exist (fix: create it exporting `handler`",
    );
    expect(lines.some((line) => line.startsWith("missing handler module(s): ") && line.includes("whoami.ts"))).toBe(
      true,
    );
  });

  it("reloads a changed handler; a build error is one line and the previous handlers keep serving", async () => {
    await write("default", `export const handler = async () => ({ statusCode: 200, body: "v2" });`);
    await write("whoami", `export const handler = async () => ({ statusCode: 200, body: "whoami" });`);
    const reloaded = await host.reload();
    expect(reloaded.missing).not.toContain("whoami");
    expect(await host.routes.$default?.({}, context)).toEqual({ statusCode: 200, body: "v2" });
    expect(await host.routes.whoami?.({}, context)).toEqual({ statusCode: 200, body: "whoami" });

    await write("default", `export const handler = async () => ({ statusCode: 200, body: "v3" }`);
    const broken = await host.reload();
    expect(broken.buildError).toMatch(/^packages\/functions\/src\/default\.ts:\d+:\d+: /);
    const reported = lines.filter((line) => line.startsWith("handler build failed: "));
    expect(reported).toHaveLength(1);
    expect(reported[0]).not.toContain("\n");
    expect(reported[0]).toContain("the previous handlers keep serving");
    expect(await host.routes.$default?.({}, context)).toEqual({ statusCode: 200, body: "v2" });
  });

  it("reports a module that fails to load, and keeps the others", async () => {
    await write("default", `export const handler = async () => ({ statusCode: 200, body: "v4" });`);
    await write("ping", `throw new Error("boom at import");\nexport const handler = async () => ({});`);
    const status = await host.reload();
    expect(status.failed.ping).toContain("boom at import");
    await expect(host.routes.ping?.({}, context)).rejects.toThrow(
      "handler module packages/functions/src/ping.ts failed to load",
    );
    expect(await host.routes.$default?.({}, context)).toEqual({ statusCode: 200, body: "v4" });
  });
});

describe("handler host with watch on", () => {
  it("rebuilds on its own when a handler file changes", async () => {
    const root = await mkdtemp(join(tmpdir(), "wsauth-watch-"));
    const functionsDir = join(root, "packages", "functions", "src");
    await mkdir(functionsDir, { recursive: true });
    await mkdir(join(root, "packages", "core", "src"), { recursive: true });
    await writeFile(join(functionsDir, "default.ts"), `export const handler = async () => "before";`);
    const host = await startHandlerHost({
      stateDir: join(root, ".local"),
      env: {},
      watch: true,
      quiet: true,
      reporter: { info: () => {}, warn: () => {}, error: () => {} },
      integrationTimeoutMs: 1_000,
      root,
    });
    try {
      expect(await host.routes.$default?.({}, context)).toBe("before");
      await writeFile(join(functionsDir, "default.ts"), `export const handler = async () => "after";`);
      // The watcher rebuilds by itself; wait for the next generation (the test timeout bounds this).
      while (host.status().generation < 2) await sleep(50);
      expect(await host.routes.$default?.({}, context)).toBe("after");
    } finally {
      await host.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
