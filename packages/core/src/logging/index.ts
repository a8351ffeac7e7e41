/**
 * Structured logs: one JSON object per line (`level`, `timestamp`, `service`, `message`, fields), the
 * shape CloudWatch Logs Insights queries and the local stack prints. It is a few lines on purpose
 * rather than a logging library: it is bundled into the `$connect` authorizer, whose size and cold
 * start are budgeted (<= 50 KB, <= 50 ms), and the general-purpose loggers alone cost half of that.
 *
 * Tokens, signatures and passwords must never reach a log. Callers log reason codes and the claims
 * they need, never raw events or headers; as a second line of defence every string that looks like a
 * JWT is masked and every secret-named field is dropped before a line is written.
 */

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g;
const SECRET_KEYS = /token|password|secret|authorization|signature|cookie|sec-websocket-protocol/i;

/** Whether a field name marks a secret; names come from code, so the answers are memoised (bounded). */
const secretKeyCache = new Map<string, boolean>();
function isSecretKey(key: string): boolean {
  let secret = secretKeyCache.get(key);
  if (secret === undefined) {
    secret = SECRET_KEYS.test(key);
    if (secretKeyCache.size < 1024) secretKeyCache.set(key, secret);
  }
  return secret;
}

/** Masks JWT-shaped substrings and secret-named fields, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  // Every JWT starts with "eyJ" (base64url of `{"`): strings without it skip the regex.
  if (typeof value === "string") return value.includes("eyJ") ? value.replace(JWT_SHAPE, "[redacted-jwt]") : value;
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    const { code } = value as { code?: unknown };
    return { name: value.name, message: redact(value.message, depth + 1), ...(code === undefined ? {} : { code }) };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    out[key] = isSecretKey(key) && typeof item === "string" ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}

export type LogFields = Record<string, unknown>;
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** `WSAUTH_LOG_LEVEL`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else `info`; read once per logger. */
function configuredLevel(): LogLevel {
  const raw = (process.env.WSAUTH_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? "info").toLowerCase();
  return raw in SEVERITY ? (raw as LogLevel) : raw === "trace" ? "debug" : raw === "fatal" ? "error" : "info";
}

/** ISO time of the current millisecond, formatted once per millisecond however many lines share it. */
let lastMs = 0;
let lastIso = "";
function timestampNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** A logger for one component (`authorizer`, `connect`, `gateway`, ...). */
export function createLog(service: string, options: { level?: LogLevel } = {}): Log {
  const threshold = SEVERITY[options.level ?? configuredLevel()];
  const write = (level: LogLevel) => {
    const levelName = level.toUpperCase();
    const stream = level === "error" || level === "warn" ? process.stderr : process.stdout;
    // The constant head of every line is serialised once; the authorizer writes one line per rejected
    // token, so this is on the path a flood of forged tokens takes.
    const head = `{"level":${JSON.stringify(levelName)},"timestamp":"`;
    const serviceField = `","service":${JSON.stringify(service)},`;
    return (message: string, fields?: LogFields) => {
      if (SEVERITY[level] < threshold) return;
      const entry: Record<string, unknown> = { message: redact(message) };
      if (fields) {
        for (const key in fields) {
          const item = fields[key];
          if (item === undefined || key === "level" || key === "timestamp" || key === "service") continue;
          entry[key] = isSecretKey(key) && typeof item === "string" ? "[redacted]" : redact(item, 1);
        }
      }
      let body: string;
      try {
        body = JSON.stringify(entry);
      } catch {
        // A field that cannot be serialised (a cycle, a BigInt) must not take the caller down with it.
        body = JSON.stringify({ message: entry.message });
      }
      // `body` is `{"message":...}`: splice the constant head in front of its first field.
      stream.write(`${head}${timestampNow()}${serviceField}${body.slice(1)}\n`);
    };
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
