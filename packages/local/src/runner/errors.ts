/**
 * The root of developer-tooling errors: the local stack, the CLIs and the handler build. Separate from
 * the domain's `WsAuthError` on purpose: these reach a developer's terminal, never a client, so they
 * carry no wire code (a tooling error that did reach a handler would be an `internal` error there).
 */
export class ToolingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A local stack failure a developer can act on: `message` says what is wrong in one line and `fix`
 * says what to do about it. The CLI prints both and exits non-zero; nothing else is shown.
 */
export class LocalStackError extends ToolingError {
  readonly fix: string;
  constructor(message: string, fix: string, options?: { cause?: unknown }) {
    super(message, options);
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
