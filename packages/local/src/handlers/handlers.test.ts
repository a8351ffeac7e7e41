import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
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

/**
 * A throw-away repository root for the host: `packages/functions/src` (returned) and `packages/core/src`,
 * with the repository's node_modules linked in (for `sst`) unless `link` is false.
 */
async function scratchRoot(prefix: string, link = true): Promise<{ root: string; functionsDir: string }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const functionsDir = join(root, "packages", "functions", "src");
  await mkdir(functionsDir, { recursive: true });
  await mkdir(join(root, "packages", "core", "src"), { recursive: true });
  if (link) await symlink(join(REPO_ROOT, "node_modules"), join(root, "node_modules"));
  return { root, functionsDir };
}

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
    ({ root, functionsDir } = await scratchRoot("wsauth-handlers-"));
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
    const { root, functionsDir } = await scratchRoot("wsauth-watch-", false);
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

describe("handler pool", () => {
  let root: string;
  let host: HandlerHost;
  const lines: string[] = [];

  beforeAll(async () => {
    const scratch = await scratchRoot("wsauth-pool-");
    root = scratch.root;
    const { functionsDir } = scratch;
    // Module state: a counter per worker, and the thread it lives in.
    await writeFile(
      join(functionsDir, "default.ts"),
      `import { threadId } from "node:worker_threads";
       let count = 0;
       export const handler = async (event: { requestContext?: { connectionId?: string }; delayMs?: number }) => {
         const seen = ++count;
         await new Promise((resolve) => setTimeout(resolve, event.delayMs ?? 0));
         return { threadId, seen, connectionId: event.requestContext?.connectionId };
       };`,
    );
    // Fails its first two attempts for a given key (the attempts are counted in a file: retries may
    // run in another worker, which has its own module state).
    await writeFile(
      join(functionsDir, "fanout.ts"),
      `import { appendFileSync, readFileSync } from "node:fs";
       export const handler = async (event: { file: string; failures: number }) => {
         appendFileSync(event.file, "x");
         if (readFileSync(event.file, "utf8").length <= event.failures) throw new Error("job failed on purpose");
         return "done";
       };`,
    );
    host = await startHandlerHost({
      stateDir: join(root, ".local"),
      env: {},
      watch: false,
      quiet: true,
      reporter: {
        info: (line) => lines.push(line),
        warn: (line) => lines.push(line),
        error: (line) => lines.push(line),
      },
      integrationTimeoutMs: 2_000,
      root,
      workers: 2,
      asyncRetryDelaysMs: [10, 10],
    });
  });
  afterAll(async () => {
    await host?.close();
    await rm(root, { recursive: true, force: true });
  });

  const lambda = (credentials: { accessKeyId: string; secretAccessKey: string } = { ...LOCAL_CREDENTIALS }) =>
    new LambdaClient({ endpoint: host.lambdaEndpoint, region: LOCAL.region, credentials, maxAttempts: 1 });

  const call = (event: object) =>
    host.routes.$default?.(event, context) as Promise<{ threadId: number; seen: number; connectionId?: string }>;

  it("runs one worker per requested thread, each with its own module state", async () => {
    expect(host.pool()).toHaveLength(2);
    // Without a connection, invocations go to the least busy worker: two slow ones land on both.
    const [first, second] = await Promise.all([call({ delayMs: 100 }), call({ delayMs: 100 })]);
    expect(first?.threadId).not.toBe(second?.threadId);
    expect(first?.seen).toBe(1);
    expect(second?.seen).toBe(1);
  });

  it("keeps every event of one connection on one worker, in order", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        call({ requestContext: { connectionId: `conn-${index % 4}` }, delayMs: index % 3 }),
      ),
    );
    for (let connection = 0; connection < 4; connection++) {
      const own = results.filter((result) => result.connectionId === `conn-${connection}`);
      expect(new Set(own.map((result) => result.threadId)).size).toBe(1);
      // Started in the order the events were handed over: the module counter rises with each.
      const seen = own.map((result) => result.seen);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
    }
  });

  it("runs an asynchronous invocation at least once, retrying after a throw (Lambda Invoke API, Event)", async () => {
    const file = join(root, "attempts");
    const response = await lambda().send(
      new InvokeCommand({
        FunctionName: "wsauth-local-fanout",
        InvocationType: "Event",
        Payload: new TextEncoder().encode(JSON.stringify({ file, failures: 2 })),
      }),
    );
    expect(response.StatusCode).toBe(202);
    await host.asyncSettled();
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(file, "utf8")).toBe("xxx");
    expect(host.asyncStats()).toMatchObject({ queued: 1, attempts: 3, retried: 2, succeeded: 1, failed: 0 });
    expect(lines.filter((line) => line.includes("retrying in"))).toHaveLength(2);
  });

  it("refuses unsigned, wrongly signed and foreign-host invocations, and unknown functions, like AWS", async () => {
    const url = `${host.lambdaEndpoint}/2015-03-31/functions/wsauth-local-fanout/invocations`;
    const unsigned = await fetch(url, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get("x-amzn-errortype")).toBe("MissingAuthenticationTokenException");
    const forged = await fetch(url, {
      method: "POST",
      headers: { authorization: "AWS4-HMAC-SHA256 Credential=local", "x-amz-invocation-type": "Event" },
      body: "{}",
    });
    expect(forged.status).toBe(403);
    const event = { FunctionName: "wsauth-local-fanout", InvocationType: "Event" as const, Payload: "{}" };
    const wrongKey = lambda({ ...LOCAL_CREDENTIALS, secretAccessKey: "not-the-local-secret" });
    await expect(wrongKey.send(new InvokeCommand(event))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    // A DNS-rebinding page reaches loopback under a name of its own: refused by Host (421).
    const foreign = await import("node:http").then(
      ({ request }) =>
        new Promise<number>((resolve, reject) => {
          const target = new URL(url);
          const req = request(
            {
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: "POST",
              headers: { host: "attacker.example" },
            },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on("error", reject);
          req.end("{}");
        }),
    );
    expect(foreign).toBe(421);
    await expect(
      lambda().send(new InvokeCommand({ ...event, FunctionName: "wsauth-local-nothing" })),
    ).rejects.toMatchObject({ name: "ResourceNotFoundException" });
    // None of the refused invocations was queued (only the one of the test before).
    expect(host.asyncStats().queued).toBe(1);
  });

  it("replaces a worker that dies mid-invocation; the invocation fails, the pool keeps serving", async () => {
    const running = call({ requestContext: { connectionId: "conn-kill" }, delayMs: 1_000 });
    await sleep(50);
    const index = host.pool().findIndex((worker) => worker.running.length > 0);
    expect(index).toBeGreaterThanOrEqual(0);
    const killed = host.pool()[index]?.threadId;
    await host.killWorker(index);
    await expect(running).rejects.toThrow(/handler worker stopped/);
    while (host.pool()[index]?.threadId === killed) await sleep(10);
    const after = await call({ requestContext: { connectionId: "conn-kill" } });
    // The replacement starts with fresh module state, like a new container.
    expect(after.seen).toBe(1);
    expect(lines.some((line) => line.includes("crashed"))).toBe(false);
  });
});

describe("handler worker concurrency", () => {
  let root: string;
  let host: HandlerHost;

  beforeAll(async () => {
    const scratch = await scratchRoot("wsauth-slots-");
    root = scratch.root;
    const { functionsDir } = scratch;
    // Counts the invocations running at once in this worker; `hang` never settles.
    await writeFile(
      join(functionsDir, "default.ts"),
      `let active = 0;
       let peak = 0;
       export const handler = async (event: { delayMs?: number; hang?: boolean; n?: number }) => {
         active += 1;
         peak = Math.max(peak, active);
         if (event.hang) await new Promise(() => {});
         await new Promise((resolve) => setTimeout(resolve, event.delayMs ?? 0));
         active -= 1;
         return { n: event.n, peak };
       };`,
    );
    host = await startHandlerHost({
      stateDir: join(root, ".local"),
      env: {},
      watch: false,
      quiet: true,
      reporter: { info: () => {}, warn: () => {}, error: () => {} },
      integrationTimeoutMs: 1_000,
      root,
      workers: 1,
      workerConcurrency: 4,
    });
  });
  afterAll(async () => {
    await host?.close();
    await rm(root, { recursive: true, force: true });
  });

  const call = (event: object, remainingMs = 5_000) =>
    host.routes.$default?.(event, { ...context, getRemainingTimeInMillis: () => remainingMs }) as Promise<{
      n: number;
      peak: number;
    }>;

  it("runs at most its slots at once; a burst waits its turn and every invocation completes, in order", async () => {
    const started = Array.from({ length: 20 }, (_, n) => call({ n, delayMs: 20 }));
    const results = await Promise.all(started);
    expect(results.map((result) => result.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(Math.max(...results.map((result) => result.peak))).toBe(4);
    expect(host.pool()[0]?.running).toEqual([]);
  });

  it("frees the slot of an invocation that never settles once its time is up", async () => {
    const hung = Array.from({ length: 4 }, () => call({ hang: true }, 200));
    for (const invocation of hung) void invocation.catch(() => {});
    const started = Date.now();
    const after = await call({ n: 99 });
    expect(after.n).toBe(99);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });
});
