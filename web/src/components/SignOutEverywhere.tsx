"use client";

import type { SocketClient } from "@wsauth/client";
import { ROUTE } from "@wsauth/core/constants";
import { useState } from "react";
import { currentIdToken, signOutGlobally } from "../auth/amplify";

/** How long to wait for the server's `revoked` before signing out anyway. */
const REVOKE_WAIT_MS = 5_000;

/** Resolves with the server's answer to a `revoke`: the `revoked` frame, an error frame, or nothing in time. */
function revokeAnswer(client: SocketClient): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish("no answer from the server"), REVOKE_WAIT_MS);
    const stop = client.onFrame((frame) => {
      if (frame.type === "revoked") finish("revoked");
      if (frame.type === "error") finish(`${frame.message} (${frame.code})`);
    });
    function finish(outcome: string) {
      clearTimeout(timer);
      stop();
      resolve(outcome);
    }
  });
}

/**
 * "Sign out everywhere": asks the server to revoke every session of this user over the socket (the
 * `revoke` action with the current ID token: every socket of the user closes, and no token signed in
 * before now connects again), then signs out with Amplify's global sign-out.
 */
export function SignOutEverywhere({
  client,
  canSend,
  log,
  onStart,
  onSignedOut,
}: {
  client: SocketClient | undefined;
  canSend: boolean;
  log: (tone: "info" | "warn" | "error", text: string) => void;
  /** Before the request goes out: this tab's own `revoked` frame is then expected. */
  onStart: () => void;
  onSignedOut: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    onStart();
    log("info", "Signing out everywhere: revoking every session of this account.");
    try {
      if (client) {
        const { token } = await currentIdToken({ forceRefresh: false });
        const answer = revokeAnswer(client);
        const sent = client.send({ action: ROUTE.revoke, token });
        const outcome = sent.ok ? await answer : `not sent: ${sent.reason}`;
        log(outcome === "revoked" ? "info" : "error", `Revocation: ${outcome}`);
      }
      await signOutGlobally();
    } catch (error) {
      log("error", `Sign out everywhere: ${(error as Error).message}`);
    } finally {
      onSignedOut();
    }
  };
  return (
    <button type="button" onClick={() => void run()} disabled={busy || !canSend}>
      {busy ? "Signing out everywhere…" : "Sign out everywhere"}
    </button>
  );
}
