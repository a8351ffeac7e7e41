import { WsAuthError } from "@wsauth/core/errors";

/**
 * A local stack failure a developer can act on: `message` says what is wrong in one line and `fix`
 * says what to do about it. The CLI prints both and exits non-zero; nothing else is shown.
 */
export class LocalStackError extends WsAuthError {
  readonly fix: string;
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super("dependency_failed", message, options);
    this.fix = fix;
  }
}

/** The one-line form of any error: `message (fix: ...)` for local stack errors, `Name: message` otherwise. */
export function describeError(error: unknown): string {
  if (error instanceof LocalStackError) return `${error.message} (fix: ${error.fix})`;
  if (error instanceof Error) return `${error.name}: ${firstLine(error.message)}`;
  return String(error);
}

export function firstLine(text: string): string {
  return text.split("\n", 1)[0] ?? "";
}
