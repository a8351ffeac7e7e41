import { clockTime } from "./format";
import type { LogEntry } from "./useEventLog";

const TONE_LABEL: Record<LogEntry["tone"], string> = {
  info: "info",
  sent: "sent",
  received: "received",
  warn: "warning",
  error: "error",
};

export function EventLog({ entries, onClear }: { entries: LogEntry[]; onClear: () => void }) {
  return (
    <section className="panel panel-log" aria-labelledby="log-title">
      <div className="panel-head">
        <h2 id="log-title">Event log</h2>
        <button type="button" className="button-quiet" onClick={onClear} disabled={entries.length === 0}>
          Clear
        </button>
      </div>
      <ol
        className="log"
        role="log"
        aria-live="polite"
        aria-label="Socket events, newest first"
        data-testid="event-log"
      >
        {entries.length === 0 ? <li className="log-empty">No events yet.</li> : null}
        {entries.map((entry) => (
          <li key={entry.id} className={`log-entry tone-${entry.tone}`}>
            <time dateTime={new Date(entry.at).toISOString()}>{clockTime(entry.at)}</time>
            <span className="log-tone">{TONE_LABEL[entry.tone]}</span>
            <span className="log-text">{entry.text}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
