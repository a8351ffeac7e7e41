"use client";

import { useEffect, useState } from "react";
import type { SocketStatus } from "../socket";
import { describeStatus } from "./format";

/** The socket's state in words; ticks once a second while a reconnect is counting down. */
export function StatusLine({ status, onRetry }: { status: SocketStatus; onRetry: () => void }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status.state !== "reconnecting") return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [status]);

  return (
    <div className="status-line">
      <span className={`status-dot state-${status.state}`} aria-hidden="true" />
      <p role="status" aria-live="polite" data-testid="socket-status" data-socket-state={status.state}>
        <span className="visually-hidden">Socket: </span>
        {describeStatus(status, now)}
      </p>
      {status.state === "reconnecting" ? (
        <button type="button" className="button-quiet" onClick={onRetry}>
          Retry now
        </button>
      ) : null}
    </div>
  );
}
