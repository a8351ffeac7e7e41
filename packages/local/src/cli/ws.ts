import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { AdminGetUserCommand, CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createChannelStore } from "@wsauth/core/channel";
import { type ConnectionRecord, type ConnectionStore, createConnectionStore } from "@wsauth/core/connection";
import { LOCAL, LOCAL_CREDENTIALS, ROUTE } from "@wsauth/core/constants";
import { toWsAuthError } from "@wsauth/core/errors";
import { createLog } from "@wsauth/core/logging";
import { createChannels, createMessenger } from "@wsauth/core/messaging";
import { assertDataSize, frames, type JsonValue, parseJsonBody, SYSTEM_SENDER } from "@wsauth/core/protocol";
import { createRevocationStore, type RevokeTarget, revokeUser } from "@wsauth/core/revocation";
import { ToolingError } from "../runner";

// This tool runs on the developer's Node (20 or later; deployed functions use a current Lambda runtime):
// the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/**
 * `pnpm ws`: push a message to a user's live connections, or list live connections, against the
 * local stack (default: `.local/outputs.json`) or a deployed stage (`--stage`, reading SST's
 * `.sst/outputs.json`, or explicit `--table/--endpoint/--region`; AWS credentials from the default chain).
 */

export const USAGE = `Usage:
  pnpm ws send --user <userId|username> '<json>'   push <json> to every live connection of a user
  pnpm ws publish <channel> '<json>'              publish <json> to a channel, as system
  pnpm ws list [--json]                            list live connections
  pnpm ws revoke --user <sub|email>                refuse every token of the user signed in until now
                                                   and close all of their live connections

Where (default: the local stack, from ${LOCAL.outputsFile}):
  --outputs <file>        read tableName, managementEndpoint, region (and dynamoEndpoint) from this file
  --stage <name>          a deployed stage: SST's .sst/outputs.json (written by its last deploy/dev)
  --table <name> --endpoint <managementEndpoint> --region <region>
                          explicit values (optionally --dynamo-endpoint <url>)`;

/** `pnpm ws publish` does what the `publish` route does, from a backend (as `system`). */
const PUBLISH = ROUTE.publish;
/** `pnpm ws revoke` does what the `Revoke` function does. */
const REVOKE = ROUTE.revoke;
/** A Cognito `sub`: `--user` names a user id when it has this shape, else the name they sign in with. */
const SUB_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The sub of a sign-in name, from Cognito itself (AdminGetUser, with the caller's credentials; locally
 * the emulator's): the registry knows only users who connected in the last hours.
 */
function cognitoResolver(target: WsTarget, credentials: ReturnType<typeof credentialsOf>) {
  const { userPoolId } = target;
  if (!userPoolId) return undefined;
  return async (username: string): Promise<string | undefined> => {
    const cognito = new CognitoIdentityProviderClient({
      region: target.region,
      ...(target.cognitoEndpoint ? { endpoint: target.cognitoEndpoint } : {}),
      ...(credentials ? { credentials } : {}),
    });
    try {
      const user = await cognito.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: username }));
      return user.UserAttributes?.find((attribute) => attribute.Name === "sub")?.Value;
    } catch (error) {
      if ((error as { name?: string }).name === "UserNotFoundException") return undefined;
      throw error;
    } finally {
      cognito.destroy();
    }
  };
}

function credentialsOf(target: WsTarget) {
  return target.local ? { ...(target.localCredentials ?? LOCAL_CREDENTIALS) } : undefined;
}

/** Where the CLI sends its calls. */
export interface WsTarget {
  tableName: string;
  managementEndpoint: string;
  region: string;
  /** Local only: dynalite's URL. */
  dynamoEndpoint?: string;
  /** The user pool (`revoke` asks it for the sub of a sign-in name the registry does not know). */
  userPoolId?: string;
  /** Local only: the Cognito emulator's endpoint. */
  cognitoEndpoint?: string;
  /** Local stack: dummy credentials instead of the default chain. */
  local: boolean;
  /** Local stack only: the credential pair its `@connections` API checks signatures against. */
  localCredentials?: { accessKeyId: string; secretAccessKey: string };
  /** Where the values came from, for messages. */
  source: string;
}

/** A usage or configuration problem of `pnpm ws`: printed as one line, exit code 1. */
export class CliError extends ToolingError {}

export interface WsIo {
  out(line: string): void;
  err(line: string): void;
  /** The repository root (where `.local/` and `.sst/` are). */
  rootDir: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

async function readOutputs(file: string, hint: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new CliError(`${file} not found: ${hint}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CliError(`${file} is not a JSON object of outputs`);
}

function requireString(outputs: Record<string, unknown>, key: string, file: string): string {
  const value = outputs[key];
  if (typeof value !== "string" || value === "") throw new CliError(`${file} has no "${key}"`);
  return value;
}

type TargetFlags = {
  outputs?: string | undefined;
  stage?: string | undefined;
  table?: string | undefined;
  endpoint?: string | undefined;
  region?: string | undefined;
  "dynamo-endpoint"?: string | undefined;
};

export async function resolveTarget(flags: TargetFlags, rootDir: string): Promise<WsTarget> {
  if (flags.table || flags.endpoint) {
    if (!flags.table || !flags.endpoint || !flags.region) {
      throw new CliError("--table, --endpoint and --region go together");
    }
    return {
      tableName: flags.table,
      managementEndpoint: flags.endpoint,
      region: flags.region,
      ...(flags["dynamo-endpoint"] ? { dynamoEndpoint: flags["dynamo-endpoint"] } : {}),
      local: Boolean(flags["dynamo-endpoint"]),
      source: "flags",
    };
  }
  const stage = flags.stage;
  const file = resolve(rootDir, flags.outputs ?? (stage ? ".sst/outputs.json" : LOCAL.outputsFile));
  const hint = stage
    ? `deploy the stage first (sst deploy --stage ${stage}) or pass --table/--endpoint/--region`
    : "start the local stack first (pnpm local), or pass --stage / --outputs";
  const outputs = await readOutputs(file, hint);
  // `.sst/outputs.json` is rewritten by every `sst deploy`/`sst dev`, whatever the stage: refuse to
  // push to whichever stage happened to run last when another one was asked for.
  if (stage && outputs.stage !== stage) {
    const found = typeof outputs.stage === "string" ? `stage "${outputs.stage}"` : "an unnamed stage";
    throw new CliError(`${file} holds the outputs of ${found}, not "${stage}": ${hint}`);
  }
  const dynamoEndpoint = !stage && typeof outputs.dynamoEndpoint === "string" ? outputs.dynamoEndpoint : undefined;
  const cognitoEndpoint = !stage && typeof outputs.cognitoEndpoint === "string" ? outputs.cognitoEndpoint : undefined;
  return {
    ...(typeof outputs.userPoolId === "string" && outputs.userPoolId ? { userPoolId: outputs.userPoolId } : {}),
    ...(cognitoEndpoint ? { cognitoEndpoint } : {}),
    tableName: requireString(outputs, "tableName", file),
    managementEndpoint: requireString(outputs, "managementEndpoint", file),
    region: flags.region ?? requireString(outputs, "region", file),
    ...(dynamoEndpoint ? { dynamoEndpoint } : {}),
    local: dynamoEndpoint !== undefined,
    ...(dynamoEndpoint !== undefined ? { localCredentials: localCredentialsOf(outputs) } : {}),
    source: file,
  };
}

/** The pair the local stack published in its outputs (older outputs lack it: the constant then). */
function localCredentialsOf(outputs: Record<string, unknown>): { accessKeyId: string; secretAccessKey: string } {
  const published = outputs.localCredentials as { accessKeyId?: unknown; secretAccessKey?: unknown } | undefined;
  return typeof published?.accessKeyId === "string" && typeof published.secretAccessKey === "string"
    ? { accessKeyId: published.accessKeyId, secretAccessKey: published.secretAccessKey }
    : { ...LOCAL_CREDENTIALS };
}

function clientsFor(target: WsTarget) {
  // The local stack signs with its published pair; deployed stages use the default credential chain.
  const credentials = credentialsOf(target);
  const dynamo = new DynamoDBClient({
    region: target.region,
    ...(target.dynamoEndpoint ? { endpoint: target.dynamoEndpoint } : {}),
    ...(credentials ? { credentials } : {}),
  });
  const management = new ApiGatewayManagementApiClient({
    endpoint: target.managementEndpoint,
    region: target.region,
    ...(credentials ? { credentials } : {}),
  });
  return { dynamo, management };
}

/** A Messenger and the channels over it, as the handlers that publish or close connections build them. */
function channelsFor(target: WsTarget, store: ConnectionStore, clients: ReturnType<typeof clientsFor>) {
  const messenger = createMessenger({ endpoint: target.managementEndpoint, store, client: clients.management });
  const channels = createChannels({
    store: createChannelStore({ tableName: target.tableName, client: clients.dynamo }),
    messenger,
    now: Date.now,
    log: createLog("ws", { level: "warn" }),
  });
  return { messenger, channels };
}

function describeRow(connection: ConnectionRecord): string {
  return [
    connection.connectionId,
    connection.username,
    connection.userId,
    connection.transport,
    new Date(connection.connectedAt).toISOString(),
    new Date(connection.tokenExp * 1000).toISOString(),
  ].join("\t");
}

/** Runs the CLI; resolves to the process exit code. */
export async function runWs(argv: string[], io: WsIo): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    io.err((error as Error).message);
    io.err(USAGE);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(USAGE);
    return command || values.help ? 0 : 2;
  }
  if (command !== "send" && command !== "list" && command !== PUBLISH && command !== REVOKE) {
    io.err(`unknown command "${command}"`);
    io.err(USAGE);
    return 2;
  }
  let clients: ReturnType<typeof clientsFor> | undefined;
  try {
    const target = await resolveTarget(values, io.rootDir);
    clients = clientsFor(target);
    const store = createConnectionStore({ tableName: target.tableName, client: clients.dynamo });
    if (command === "list") {
      const rows: ConnectionRecord[] = [];
      for await (const page of store.walk()) rows.push(...page);
      if (values.json) io.out(JSON.stringify(rows, null, 2));
      else {
        io.out(["connectionId", "username", "userId", "transport", "connectedAt", "tokenExpires"].join("\t"));
        for (const row of rows) io.out(describeRow(row));
        io.err(`${rows.length} live connection(s) in ${target.tableName} (${target.source})`);
      }
      return 0;
    }
    if (command === PUBLISH) {
      const [channel, json, ...extra] = rest;
      if (!channel || json === undefined || extra.length > 0) {
        throw new CliError("publish needs a channel and exactly one JSON argument (quote it)");
      }
      const data = parseJsonBody(json) as JsonValue;
      assertDataSize(data);
      const { messenger, channels } = channelsFor(target, store, clients);
      messenger.onGone((connectionId) => channels.removeConnection(connectionId));
      const report = await channels.publish("server", SYSTEM_SENDER, channel, data);
      io.out(JSON.stringify(report));
      return report.failed > 0 ? 1 : 0;
    }
    if (command === REVOKE) {
      const user = values.user;
      if (!user || rest.length > 0) throw new CliError("revoke needs --user <sub|email> and nothing else");
      const { messenger, channels } = channelsFor(target, store, clients);
      const resolveUsername = cognitoResolver(target, credentialsOf(target));
      const userTarget: RevokeTarget = SUB_PATTERN.test(user) ? { userId: user } : { username: user };
      const report = await revokeUser(userTarget, {
        store,
        revocations: createRevocationStore({ tableName: target.tableName, client: clients.dynamo }),
        messenger,
        afterRemove: channels.removeConnection,
        log: createLog("ws", { level: "warn" }),
        source: "cli",
        ...(resolveUsername ? { resolveUsername } : {}),
      });
      io.out(JSON.stringify(report));
      return report.failed > 0 ? 1 : 0;
    }
    const user = values.user;
    if (!user) throw new CliError("send needs --user <userId|username>");
    if (rest.length !== 1) throw new CliError("send needs exactly one JSON argument (quote it)");
    const data = parseJsonBody(rest[0]) as JsonValue;
    assertDataSize(data);
    const messenger = createMessenger({ endpoint: target.managementEndpoint, store, client: clients.management });
    const report = await messenger.toUser(user, frames.message(SYSTEM_SENDER, data, Date.now()));
    io.out(JSON.stringify(report));
    if (report.delivered + report.gone + report.failed === 0) io.err(`no live connection for ${user}`);
    return report.failed > 0 ? 1 : 0;
  } catch (thrown) {
    if (thrown instanceof CliError) io.err(thrown.message);
    else {
      const error = toWsAuthError(thrown);
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
      io.err(`${error.code}: ${error.message}${cause}`);
    }
    return 1;
  } finally {
    clients?.dynamo.destroy();
    clients?.management.destroy();
  }
}

function parseCommandLine(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      user: { type: "string", short: "u" },
      json: { type: "boolean" },
      outputs: { type: "string" },
      stage: { type: "string" },
      table: { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      "dynamo-endpoint": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  // pnpm passes a lone "--" through when the root script forwards arguments.
  const args = process.argv.slice(2).filter((arg, index) => !(index === 0 && arg === "--"));
  runWs(args, {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    rootDir: process.env.WSAUTH_ROOT ?? REPO_ROOT,
  }).then((code) => {
    process.exitCode = code;
  });
}
