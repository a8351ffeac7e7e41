"use client";

import type { Sender } from "@wsauth/core/protocol";
import { type FormEvent, useId, useState } from "react";
import { clockTime, preview } from "./format";

export interface InboxMessage {
  id: number;
  from: Sender;
  data: unknown;
  sentAt: string;
  receivedAt: number;
  broadcast: boolean;
}

export function MessagePanel({
  canSend,
  outcome,
  inbox,
  onSend,
}: {
  canSend: boolean;
  /** What happened to the last send, in words (delivery counts or the server's error). */
  outcome: string | undefined;
  inbox: InboxMessage[];
  onSend: (to: string, text: string) => boolean;
}) {
  const [to, setTo] = useState("");
  const [text, setText] = useState("");
  const toId = useId();
  const textId = useId();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (to.trim() && text.trim() && onSend(to.trim(), text)) setText("");
  };

  return (
    <section className="panel" aria-labelledby="dm-title">
      <h2 id="dm-title">Direct message</h2>
      <form onSubmit={submit} className="stack">
        <label htmlFor={toId}>Recipient (the email they sign in with)</label>
        <input
          id={toId}
          type="email"
          autoComplete="off"
          inputMode="email"
          value={to}
          onChange={(event) => setTo(event.target.value)}
          placeholder="bob@example.com"
        />
        <label htmlFor={textId}>Message</label>
        <textarea id={textId} rows={2} value={text} onChange={(event) => setText(event.target.value)} />
        <div className="row">
          <button type="submit" disabled={!canSend || !to.trim() || !text.trim()}>
            Send message
          </button>
        </div>
      </form>
      <p className="result" aria-live="polite" data-testid="send-outcome">
        {outcome ?? "Nothing sent yet."}
      </p>
      <h3 id="inbox-title">Inbox</h3>
      <ul className="inbox" aria-labelledby="inbox-title" data-testid="inbox">
        {inbox.length === 0 ? <li className="log-empty">No messages yet.</li> : null}
        {inbox.map((message) => (
          <li key={message.id} className="inbox-item">
            <p className="inbox-meta">
              {message.broadcast ? "Broadcast from " : "From "}
              <strong>{message.from.username}</strong> at{" "}
              <time dateTime={message.sentAt}>{clockTime(Date.parse(message.sentAt) || message.receivedAt)}</time>
            </p>
            <p className="inbox-data">{preview(message.data)}</p>
          </li>
        ))}
      </ul>
    </section>
  );
}
