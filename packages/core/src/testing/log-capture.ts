/**
 * Captures the structured log lines (`{"level":...}`, one JSON object per line) that code under test
 * writes to stdout/stderr, so a passing test run prints vitest's output only and tests can assert on
 * the logs they provoke. Installed for every test file by `test/setup/capture-logs.ts`; a failing
 * test gets the lines it captured printed after it, so nothing is lost for debugging.
 *
 * Lines from handler worker threads arrive through the same streams, so they are captured too. Output
 * that is not a log line passes through untouched.
 */

export interface LogLine {
  level: string;
  service?: string;
  message?: string;
  [field: string]: unknown;
}

export type LogMatch = Partial<Record<string, unknown>>;

export interface LogCapture {
  /** Every line captured since the last `clear()`. */
  lines(): LogLine[];
  /** Lines whose fields equal every field of `match` (e.g. `{ level: "ERROR", code: "dependency_failed" }`). */
  find(match: LogMatch): LogLine[];
  /** The raw text of every captured line (for "never contains a token" checks). */
  text(): string;
  clear(): void;
}

const LOG_LINE_START = '{"level":';

function matches(line: LogLine, match: LogMatch): boolean {
  return Object.entries(match).every(([key, value]) => line[key] === value);
}

class StreamCapture {
  #pending = "";
  readonly #write: NodeJS.WriteStream["write"];

  constructor(
    readonly stream: NodeJS.WriteStream,
    readonly keep: (raw: string) => void,
  ) {
    this.#write = stream.write.bind(stream) as NodeJS.WriteStream["write"];
    const patched = (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
      const done = typeof encoding === "function" ? encoding : callback;
      this.#take(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      if (typeof done === "function") queueMicrotask(() => (done as () => void)());
      return true;
    };
    stream.write = patched as NodeJS.WriteStream["write"];
  }

  /** Writes to the real stream, bypassing the capture. */
  passThrough(text: string): void {
    this.#write(text);
  }

  #take(text: string): void {
    let rest = this.#pending + text;
    this.#pending = "";
    for (;;) {
      const newline = rest.indexOf("\n");
      if (newline === -1) break;
      const line = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (line.startsWith(LOG_LINE_START)) this.keep(line);
      else this.#write(`${line}\n`);
    }
    // An unfinished log line waits for its end; anything else goes out as it came.
    if (rest.startsWith(LOG_LINE_START) || LOG_LINE_START.startsWith(rest)) this.#pending = rest;
    else if (rest) this.#write(rest);
  }
}

let installed: { capture: LogCapture; stderr: StreamCapture } | undefined;

/** The capture of this test file's process, installed on first use. */
export function capturedLogs(): LogCapture {
  if (installed) return installed.capture;
  const raw: string[] = [];
  const keep = (line: string) => {
    raw.push(line);
  };
  new StreamCapture(process.stdout, keep);
  const stderr = new StreamCapture(process.stderr, keep);
  const parsed = () =>
    raw.map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return { level: "UNPARSEABLE", message: line };
      }
    });
  const capture: LogCapture = {
    lines: parsed,
    find: (match) => parsed().filter((line) => matches(line, match)),
    text: () => raw.join("\n"),
    clear: () => {
      raw.length = 0;
    },
  };
  installed = { capture, stderr };
  return capture;
}

/** Prints what was captured to the real stderr (after a failed test). */
export function printCapturedLogs(title: string): void {
  if (!installed) return;
  const text = installed.capture.text();
  if (text) installed.stderr.passThrough(`--- log lines captured during ${title} ---\n${text}\n`);
}
