"use client";

import { useEffect, useState } from "react";
import type { SocketStatus } from "../socket";
import { describeStatus } from "./format";

/**
 * The socket's state in words; the visible line ticks once a second while a reconnect counts down.
 * Screen readers get a separate live region that changes only when the state does, so the
 * countdown is announced once rather than every second.
 */
export function StatusLine({ status, onRetry }: { status: SocketStatus; onRetry: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  const [announcedAt, setAnnouncedAt] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    setAnnouncedAt(Date.now());
    if (status.state !== "reconnecting") return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [status]);

  return (
    <div className="status-line">
      <span className={`status-dot state-${status.state}`} aria-hidden="true" />
      <p aria-hidden="true" data-testid="socket-status" data-socket-state={status.state}>
        {describeStatus(status, now)}
      </p>
      <p role="status" className="visually-hidden">
        Socket: {describeStatus(status, announcedAt)}
      </p>
      {status.state === "reconnecting" ? (
        <button type="button" className="button-quiet" onClick={onRetry}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}
