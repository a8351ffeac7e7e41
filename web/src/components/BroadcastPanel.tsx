"use client";

import { TextSendForm } from "./TextSendForm";

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
  return (
    <section className="panel" aria-labelledby="broadcast-title">
      <h2 id="broadcast-title">Broadcast</h2>
      <TextSendForm
        label="Message to everyone signed in"
        hint={
          <>
            Only members of the <code>admins</code> group may broadcast; it reaches every live connection, this one too.
          </>
        }
        rows={2}
        submitLabel="Broadcast"
        canSend={canSend}
        onSend={onSend}
      />
      <p className="result" aria-live="polite" data-testid="broadcast-outcome">
        {outcome ?? "Nothing broadcast yet."}
      </p>
    </section>
  );
}
