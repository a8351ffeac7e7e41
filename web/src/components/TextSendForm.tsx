"use client";

import { type FormEvent, type ReactNode, useId, useState } from "react";

/** A textarea and a send button; the text is cleared once the socket has taken it. */
export function TextSendForm({
  label,
  hint,
  rows,
  initialText = "",
  submitLabel,
  canSend,
  onSend,
}: {
  label: string;
  hint: ReactNode;
  rows: number;
  initialText?: string;
  submitLabel: string;
  canSend: boolean;
  /** False when the socket could not take the text (it is kept for another try). */
  onSend: (text: string) => boolean;
}) {
  const [text, setText] = useState(initialText);
  const textId = useId();
  const hintId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() && onSend(text)) setText("");
  };

  return (
    <form onSubmit={submit} className="stack">
      <label htmlFor={textId}>{label}</label>
      <textarea
        id={textId}
        rows={rows}
        value={text}
        onChange={(event) => setText(event.target.value)}
        aria-describedby={hintId}
      />
      <p id={hintId} className="hint">
        {hint}
      </p>
      <div className="row">
        <button type="submit" disabled={!canSend || !text.trim()}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
