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

/** Runs of token characters (base64url, dots, and `%` for URL-encoded dots); matched in linear time. */
const TOKEN_RUN = /[A-Za-z0-9_.%-]+/g;
const SECRET_KEYS = /token|password|secret|authorization|signature|cookie|sec-websocket-protocol/i;

/** What the logger knows of a field name: names come from code, so this is memoised (bounded). */
interface KeyInfo {
  secret: boolean;
  /** `"name":`, ready to splice into a line. */
  prefix: string;
}
const keyInfoCache = new Map<string, KeyInfo>();
function keyInfo(key: string): KeyInfo {
  let info = keyInfoCache.get(key);
  if (info === undefined) {
    info = { secret: SECRET_KEYS.test(key), prefix: `${JSON.stringify(key)}:` };
    if (keyInfoCache.size < 1024) keyInfoCache.set(key, info);
  }
  return info;
}
function isSecretKey(key: string): boolean {
  return keyInfo(key).secret;
}

/**
 * A run that holds a JWT: "eyJ" (base64url of `{"`, how every JWT starts) followed later in the run
 * by a segment separator, plain or URL-encoded. The whole run is masked, whatever surrounds the token.
 */
function holdsJwt(run: string): boolean {
  const start = run.indexOf("eyJ");
  if (start === -1) return false;
  const rest = run.slice(start);
  return rest.includes(".") || rest.includes("%2E") || rest.includes("%2e");
}

function redactString(value: string): string {
  // Strings without "eyJ" (nearly all) skip the scan.
  return value.includes("eyJ") ? value.replace(TOKEN_RUN, (run) => (holdsJwt(run) ? "[redacted-jwt]" : run)) : value;
}

/**
 * Whether a field's value is withheld: anything under a secret-looking name (`secretName`) except
 * numbers and booleans (`tokenExp` is a time, not a token), whatever its shape.
 */
function concealed(secretName: boolean, value: unknown): boolean {
  return secretName && value !== null && value !== undefined && typeof value !== "number" && typeof value !== "boolean";
}

/** Masks JWT-shaped substrings and secret-named fields, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  // Deeper than any log field needs: dropped rather than written unchecked.
  if (depth > 6) return "[nested too deep]";
  if (value instanceof Error) {
    const { code } = value as { code?: unknown };
    return {
      name: value.name,
      message: redact(value.message, depth + 1),
      ...(code === undefined ? {} : { code: redact(code, depth + 1) }),
    };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  // Dates and other values with their own JSON form are redacted in that form, not as bare objects.
  const { toJSON } = value as { toJSON?: unknown };
  if (typeof toJSON === "function") return redact(toJSON.call(value), depth + 1);
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const item = (value as Record<string, unknown>)[key];
    out[key] = concealed(isSecretKey(key), item) ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}

export type LogFields = Record<string, unknown>;
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Log {
  /**
   * Whether lines of `level` are written. Lets a caller skip building fields nobody will see; a log
   * without it (a test's, a silenced one) is taken to want no debug lines built.
   */
  enabled?(level: LogLevel): boolean;
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

/**
 * Characters JSON must escape in a string: quote, backslash, control characters, and lone surrogates
 * (which JSON.stringify writes as \u escapes; paired ones are left to it too).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * A string as JSON text. Log values are mostly short ids and reason codes with nothing to escape, so
 * they are copied as they are instead of going through JSON.stringify, which is dear on the path of a
 * rejected `$connect`; the result is byte for byte what JSON.stringify gives.
 */
export function jsonString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** A redacted field value as JSON text; undefined for what JSON has no value for (skipped). */
function jsonValue(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return jsonString(redactString(value));
    case "number":
      // The same text JSON.stringify gives a number (it writes non-finite ones as null).
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `"${value}"`;
    case "object":
      if (value === null) return "null";
      try {
        return JSON.stringify(redact(value, 1));
      } catch {
        // A value that cannot be serialised (a cycle) must not take the caller, or the line, with it.
        return '"[unserialisable]"';
      }
    default:
      return undefined;
  }
}

/** Names every line sets itself; a field with one of them is dropped. */
const RESERVED = new Set(["level", "timestamp", "service", "message"]);

/** A logger for one component (`authorizer`, `connect`, `gateway`, ...). */
export function createLog(service: string, options: { level?: LogLevel } = {}): Log {
  const threshold = SEVERITY[options.level ?? configuredLevel()];
  const write = (level: LogLevel) => {
    const stream = level === "error" || level === "warn" ? process.stderr : process.stdout;
    // The constant parts of every line are serialised once; the authorizer writes one line per
    // rejected token, so this is on the path a flood of forged tokens takes.
    const head = `{"level":${JSON.stringify(level.toUpperCase())},"timestamp":"`;
    const serviceField = `","service":${JSON.stringify(service)},"message":`;
    return (message: string, fields?: LogFields) => {
      if (SEVERITY[level] < threshold) return;
      let line = `${head}${timestampNow()}${serviceField}${jsonString(redactString(message))}`;
      if (fields) {
        for (const key in fields) {
          const item = fields[key];
          if (item === undefined || RESERVED.has(key)) continue;
          const info = keyInfo(key);
          const value = concealed(info.secret, item) ? '"[redacted]"' : jsonValue(item);
          if (value !== undefined) line += `,${info.prefix}${value}`;
        }
      }
      stream.write(`${line}}\n`);
    };
  };
  return {
    enabled: (level) => SEVERITY[level] >= threshold,
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}
