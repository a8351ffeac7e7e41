"use client";

import { TextSendForm } from "./TextSendForm";

export function EchoPanel({
  canSend,
  lastEcho,
  onSend,
}: {
  canSend: boolean;
  lastEcho: string | undefined;
  onSend: (text: string) => boolean;
}) {
  return (
    <section className="panel" aria-labelledby="echo-title">
      <h2 id="echo-title">Echo</h2>
      <TextSendForm
        label="Text or JSON to echo"
        hint={
          <>
            Sent as typed when it is JSON, otherwise as a JSON string. A JSON object with an <code>action</code> field
            goes to that route instead.
          </>
        }
        rows={3}
        initialText='{"hello":"world"}'
        submitLabel="Send echo"
        canSend={canSend}
        onSend={onSend}
      />
      <p className="result" aria-live="polite" data-testid="echo-result">
        {lastEcho === undefined ? "No echo yet." : `Echoed: ${lastEcho}`}
      </p>
    </section>
  );
}
