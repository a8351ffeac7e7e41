"use client";

import { type FormEvent, useId, useState } from "react";

/** Sends one message to every live connection; the server allows it to members of the admins group only. */
export function BroadcastPanel({
  canSend,
  outcome,
  onSend,
}: {
  canSend: boolean;
  /** What happened to the last broadcast, in words (sent, or the server's error). */
  outcome: string | undefined;
  onSend: (text: string) => boolean;
}) {
  const [text, setText] = useState("");
  const textId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() && onSend(text)) setText("");
  };

  return (
    <section className="panel" aria-labelledby="broadcast-title">
      <h2 id="broadcast-title">Broadcast</h2>
      <form onSubmit={submit} className="stack">
        <label htmlFor={textId}>Message to everyone signed in</label>
        <textarea
          id={textId}
          rows={2}
          value={text}
          onChange={(event) => setText(event.target.value)}
          aria-describedby={hintId}
        />
        <p id={hintId} className="hint">
          Only members of the <code>admins</code> group may broadcast; it reaches every live connection, this one too.
        </p>
        <div className="row">
          <button type="submit" disabled={!canSend || !text.trim()}>
            Broadcast
          </button>
        </div>
      </form>
      <p className="result" aria-live="polite" data-testid="broadcast-outcome">
        {outcome ?? "Nothing broadcast yet."}
      </p>
    </section>
  );
}
