"use client";

import { type FormEvent, useId, useState } from "react";

export function EchoPanel({
  canSend,
  lastEcho,
  onSend,
}: {
  canSend: boolean;
  lastEcho: string | undefined;
  onSend: (text: string) => boolean;
}) {
  const [text, setText] = useState('{"hello":"world"}');
  const inputId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() && onSend(text)) setText("");
  };

  return (
    <section className="panel" aria-labelledby="echo-title">
      <h2 id="echo-title">Echo</h2>
      <form onSubmit={submit} className="stack">
        <label htmlFor={inputId}>Text or JSON to echo</label>
        <textarea
          id={inputId}
          rows={3}
          value={text}
          onChange={(event) => setText(event.target.value)}
          aria-describedby={hintId}
        />
        <p id={hintId} className="hint">
          Sent as typed when it is JSON, otherwise as a JSON string. A JSON object with an <code>action</code> field
          goes to that route instead.
        </p>
        <div className="row">
          <button type="submit" disabled={!canSend || !text.trim()}>
            Send echo
          </button>
        </div>
      </form>
      <p className="result" aria-live="polite" data-testid="echo-result">
        {lastEcho === undefined ? "No echo yet." : `Echoed: ${lastEcho}`}
      </p>
    </section>
  );
}
