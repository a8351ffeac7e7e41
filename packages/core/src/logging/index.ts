import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";

/**
 * Structured JSON logs (Powertools Logger, one line per entry). Tokens, signatures and passwords must
 * never reach a log: callers log reason codes and claims they need, never raw events or headers, and
 * as a second line of defence every string that looks like a JWT is masked before it is written.
 */

const JWT_SHAPE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*/g;
const SECRET_KEYS = /token|password|secret|authorization|signature|cookie|sec-websocket-protocol/i;

/** Masks JWT-shaped substrings and secret-named fields, recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(JWT_SHAPE, "[redacted-jwt]");
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) {
    return { name: value.name, message: redact(value.message, depth + 1), code: (value as { code?: unknown }).code };
  }
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) && typeof item === "string" ? "[redacted]" : redact(item, depth + 1);
  }
  return out;
}

export type LogFields = Record<string, unknown>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger for one component (`authorizer`, `connect`, `gateway`, ...). */
export function createLog(serviceName: string): Log {
  const logger = new Logger({
    serviceName,
    logLevel: (process.env.WSAUTH_LOG_LEVEL ?? process.env.AWS_LAMBDA_LOG_LEVEL ?? "INFO") as LogLevel,
  });
  const write = (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: LogFields) => {
    const safeMessage = redact(message) as string;
    if (fields) logger[level](safeMessage, redact(fields) as LogFields);
    else logger[level](safeMessage);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
