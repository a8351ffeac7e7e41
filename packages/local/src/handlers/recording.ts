import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/**
 * Records what the handlers really use, for the deploy tests that compare it with the deployed graph:
 * every AWS API call a handler makes (as its IAM action and resource) and every linked resource it
 * reads through `Resource`. Off unless the host is given a recorder; it only observes, never changes a
 * call. Runs inside the handler worker.
 */

/** One AWS API call, as IAM sees it. */
export interface RecordedAwsCall {
  /** Handler module (`packages/functions/src/<module>.ts`). */
  module: string;
  /** IAM action, e.g. `dynamodb:PutItem` or `execute-api:ManageConnections`. */
  action: string;
  /** What it acted on: `table/<name>[/index/<index>]` or `@connections/<METHOD>/<connection id>`. */
  resource: string;
}

/** One `Resource.<Name>` read. */
export interface RecordedResourceRead {
  module: string;
  resource: string;
}

export interface CallRecorder {
  awsCall(call: RecordedAwsCall): void;
  resourceRead(read: RecordedResourceRead): void;
  /** Report every call, not only each distinct one (the cost model counts them). */
  everyCall?: boolean;
  /** Each invocation of a handler module (a Lambda request). */
  invocation?(module: string): void;
  /**
   * Each invocation's duration, from the handler's call until its promise settled, in the worker: a
   * stand-in for Lambda's billed duration (the round trips to DynamoDB and `@connections` differ).
   */
  duration?(module: string, durationMs: number): void;
}

/** The handler module whose invocation is running (module top-level code runs outside any). */
const currentModule = new AsyncLocalStorage<string>();
const LOADING = "(module load)";

export function runAsModule<T>(module: string, run: () => T): T {
  return currentModule.run(module, run);
}

/** DynamoDB document-client commands are the item API's actions under other names. */
const DOCUMENT_COMMANDS: Record<string, string> = {
  Put: "PutItem",
  Get: "GetItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  BatchGet: "BatchGetItem",
  BatchWrite: "BatchWriteItem",
  TransactGet: "TransactGetItems",
  TransactWrite: "TransactWriteItems",
};
/** `@connections` operations: all three are `execute-api:ManageConnections` in IAM. */
const CONNECTION_METHODS: Record<string, string> = {
  PostToConnection: "POST",
  GetConnection: "GET",
  DeleteConnection: "DELETE",
};

interface CommandInput {
  TableName?: string;
  IndexName?: string;
  ConnectionId?: string;
  RequestItems?: Record<string, unknown>;
  TransactItems?: unknown[];
  FunctionName?: string;
}

/** IAM action and resource of an SDK command (client and command names as the SDK reports them). */
export function describeAwsCall(
  clientName: string,
  commandName: string,
  input: CommandInput,
): { action: string; resource: string } {
  const operation = commandName.replace(/Command$/, "");
  if (clientName.startsWith("DynamoDB")) {
    const action = `dynamodb:${DOCUMENT_COMMANDS[operation] ?? operation}`;
    const table = input.TableName ?? Object.keys(input.RequestItems ?? {}).join(",");
    return { action, resource: `table/${table}${input.IndexName ? `/index/${input.IndexName}` : ""}` };
  }
  if (clientName.startsWith("ApiGatewayManagementApi")) {
    const method = CONNECTION_METHODS[operation] ?? operation;
    return { action: "execute-api:ManageConnections", resource: `@connections/${method}/${input.ConnectionId ?? ""}` };
  }
  if (clientName.startsWith("Lambda") && operation === "Invoke") {
    // Invoke (any invocation type) is `lambda:InvokeFunction` on the function.
    return { action: "lambda:InvokeFunction", resource: `function/${input.FunctionName ?? ""}` };
  }
  const service = clientName.replace(/Client$/, "").toLowerCase();
  return { action: `${service}:${operation}`, resource: "*" };
}

type Next = (args: { input: CommandInput }) => Promise<unknown>;
interface MiddlewareStack {
  add(middleware: (next: Next, context: { clientName?: string; commandName?: string }) => Next, options: object): void;
}
interface SmithyClient {
  middlewareStack: MiddlewareStack;
}

const MIDDLEWARE_NAME = "wsauthRecordAwsCall";

/** The base class whose `send` every SDK client of `clientClass`'s family inherits. */
function baseClientPrototype(clientClass: { prototype: object }): { send: (...args: unknown[]) => unknown } {
  let prototype = clientClass.prototype;
  for (
    let parent = Object.getPrototypeOf(prototype);
    parent && parent !== Object.prototype;
    parent = Object.getPrototypeOf(parent)
  ) {
    if (Object.hasOwn(parent, "send")) prototype = parent;
  }
  return prototype as { send: (...args: unknown[]) => unknown };
}

/**
 * Adds a recording middleware to every AWS SDK client the handlers create. Handler bundles import the
 * SDK from the repository's node_modules (packages/functions and packages/core depend on it), so the
 * clients' shared base class is reached through those packages' exported client classes; its `send`
 * adds the middleware to each client once, on first use.
 */
function recordSdkCalls(packageDirs: readonly string[], record: (call: RecordedAwsCall) => void): void {
  const patched = new Set<object>();
  for (const packageDir of packageDirs) {
    const requireFromPackage = createRequire(join(packageDir, "package.json"));
    const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    const sdkPackages = Object.keys(manifest.dependencies ?? {}).filter((name) => name.startsWith("@aws-sdk/"));
    for (const sdkPackage of sdkPackages) {
      const exports = requireFromPackage(sdkPackage) as Record<string, unknown>;
      for (const exported of Object.values(exports)) {
        if (typeof exported !== "function" || typeof exported.prototype?.send !== "function") continue;
        const base = baseClientPrototype(exported as { prototype: object });
        if (patched.has(base)) continue;
        patched.add(base);
        instrument(base, record);
      }
    }
  }
}

function instrument(base: { send: (...args: unknown[]) => unknown }, record: (call: RecordedAwsCall) => void) {
  const send = base.send;
  const instrumented = new WeakSet<object>();
  base.send = function (this: SmithyClient, ...args: unknown[]) {
    if (this.middlewareStack && !instrumented.has(this.middlewareStack)) {
      instrumented.add(this.middlewareStack);
      this.middlewareStack.add(
        (next, context) => async (callArgs) => {
          const described = describeAwsCall(
            context.clientName ?? "UnknownClient",
            context.commandName ?? "Unknown",
            callArgs.input ?? {},
          );
          record({ module: currentModule.getStore() ?? LOADING, ...described });
          return next(callArgs);
        },
        { step: "initialize", name: MIDDLEWARE_NAME, override: true },
      );
    }
    return send.apply(this, args);
  };
}

/**
 * Code that calls an AWS JSON-protocol API over `fetch` instead of an SDK client (the authorizer's
 * revocation lookup) is seen here: a request with an `X-Amz-Target` header (`DynamoDB_20120810.GetItem`)
 * is recorded as that client's command, with the table from its JSON body.
 */
function recordJsonProtocolFetches(record: (call: RecordedAwsCall) => void): void {
  const original = globalThis.fetch;
  globalThis.fetch = function (this: unknown, input: Parameters<typeof fetch>[0], init?: RequestInit) {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const target = headers.get("x-amz-target");
    if (target) {
      const [prefix = "", operation = ""] = target.split(".");
      const clientName = prefix.startsWith("DynamoDB") ? "DynamoDBClient" : `${prefix}Client`;
      let body: CommandInput = {};
      try {
        body = typeof init?.body === "string" ? (JSON.parse(init.body) as CommandInput) : {};
      } catch {
        // an unreadable body still records the action
      }
      record({
        module: currentModule.getStore() ?? LOADING,
        ...describeAwsCall(clientName, `${operation}Command`, body),
      });
    }
    return original.call(this, input, init);
  } as typeof fetch;
}

/**
 * `Resource` from sst keeps the linked values in `globalThis.__SST_RESOURCE_RAW__` (created on first
 * import unless it exists). Created here first, as a proxy that notes each name a handler reads.
 */
function recordResourceReads(record: (read: RecordedResourceRead) => void): void {
  const state = globalThis as { __SST_RESOURCE_RAW__?: object };
  state.__SST_RESOURCE_RAW__ = new Proxy({} as Record<string, unknown>, {
    get(target, property, receiver) {
      if (typeof property === "string" && property in target) {
        record({ module: currentModule.getStore() ?? LOADING, resource: property });
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/** Installs both recorders in this worker; `post` receives each distinct observation once. */
export function installRecorders(
  packageDirs: readonly string[],
  post: (
    observation: { kind: "aws-call"; call: RecordedAwsCall } | { kind: "resource-read"; read: RecordedResourceRead },
  ) => void,
  everyCall = false,
): void {
  const seen = new Set<string>();
  const once = (key: string, send: () => void) => {
    if (everyCall && key.startsWith("aws|")) return send();
    if (seen.has(key)) return;
    seen.add(key);
    send();
  };
  const recordCall = (call: RecordedAwsCall) =>
    once(`aws|${call.module}|${call.action}|${call.resource}`, () => post({ kind: "aws-call", call }));
  recordSdkCalls(packageDirs, recordCall);
  recordJsonProtocolFetches(recordCall);
  recordResourceReads((read) =>
    once(`res|${read.module}|${read.resource}`, () => post({ kind: "resource-read", read })),
  );
}
