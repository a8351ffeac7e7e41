import type { SocketStatus } from "../socket";

/** Shows any JSON value compactly, cut short so one huge message cannot flood the page. */
export function preview(value: unknown, max = 400): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** Text typed by a person: valid JSON is sent as that JSON, anything else as a JSON string. */
export function typedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function clockTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number, width = 2) => String(value).padStart(width, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export function describeStatus(status: SocketStatus, now: number): string {
  switch (status.state) {
    case "idle":
      return "Not connected yet";
    case "connecting":
      return status.attempt > 1 ? `Connecting (attempt ${status.attempt})…` : "Connecting…";
    case "open":
      return `Open — token sent as ${status.transport === "subprotocol" ? "a subprotocol" : "a query parameter"}`;
    case "reconnecting": {
      const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      return `Reconnecting in ${seconds} s — ${status.reason}`;
    }
    case "closed":
      return `Closed: ${status.reason}`;
  }
}
