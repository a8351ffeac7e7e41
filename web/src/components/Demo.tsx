"use client";

import { ROUTE } from "@wsauth/core/constants";
import type { AuthUser } from "aws-amplify/auth";
import { useEffect, useId, useRef, useState } from "react";
import { currentIdToken } from "../auth/amplify";
import type { WebConfig } from "../config";
import type { ReceivedFrame, SocketStatus, Transport } from "../socket";
import { useSocket } from "../socket/useSocket";
import { BroadcastPanel } from "./BroadcastPanel";
import { EchoPanel } from "./EchoPanel";
import { EventLog } from "./EventLog";
import { describeStatus, preview, typedJson } from "./format";
import { type Identity, IdentityPanel } from "./IdentityPanel";
import { type InboxMessage, MessagePanel } from "./MessagePanel";
import { NotificationsPanel } from "./NotificationsPanel";
import { RoomPanel } from "./RoomPanel";
import { SignOutEverywhere } from "./SignOutEverywhere";
import { StatusLine } from "./StatusLine";
import { useEventLog } from "./useEventLog";

/** Newest messages kept in the inbox. */
const MAX_INBOX = 50;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

export function Demo({ config, user, onSignOut }: { config: WebConfig; user: AuthUser; onSignOut: () => void }) {
  const [transport, setTransport] = useState<Transport>("subprotocol");
  const { client, status, close } = useSocket(user.userId, {
    url: config.webSocketUrl,
    getToken: currentIdToken,
    transport,
  });
  const { entries, log, clear } = useEventLog();
  const [identity, setIdentity] = useState<Identity>();
  const [lastEcho, setLastEcho] = useState<string>();
  const [sendOutcome, setSendOutcome] = useState<string>();
  const [broadcastOutcome, setBroadcastOutcome] = useState<string>();
  const [inbox, setInbox] = useState<InboxMessage[]>([]);
  /** The request whose answer (a receipt, the broadcast itself, or an error frame) is still due. */
  const awaiting = useRef<{ kind: "send"; to: string } | { kind: "broadcast" } | undefined>(undefined);
  const transportId = useId();
  /** Set while this tab's own Sign out everywhere runs (it signs out globally itself). */
  const revokingHere = useRef(false);
  const onSignOutRef = useRef(onSignOut);
  onSignOutRef.current = onSignOut;
  const displayName = user.signInDetails?.loginId ?? user.username;
  const isOpen = status.state === "open";

  // Status changes go to the log, and a fresh connection asks who it is.
  const previousStatus = useRef<SocketStatus | undefined>(undefined);
  useEffect(() => {
    if (previousStatus.current === status || status.state === "idle") return;
    previousStatus.current = status;
    const tone = status.state === "reconnecting" ? "warn" : "info";
    log(tone, `Socket: ${describeStatus(status, Date.now())}`);
    if (status.state === "open") client?.send({ action: ROUTE.whoami });
  }, [status, client, log]);

  useEffect(() => {
    if (!client) return;
    const stopNotices = client.onNotice((notice) => log(notice.level, notice.text));
    const stopFrames = client.onFrame((frame: ReceivedFrame) => {
      switch (frame.type) {
        case "pong":
          return; // keep-alive answers are not news
        case "identity":
          setIdentity(frame);
          log("received", `Identity: ${frame.username}`);
          return;
        case "echo": {
          const text = preview(frame.message);
          setLastEcho(text);
          log("received", `Echo: ${text}`);
          return;
        }
        case "message":
        case "broadcast": {
          const { from, data, sentAt } = frame;
          const message: InboxMessage = {
            id: Date.now() + Math.random(),
            from,
            data,
            sentAt,
            receivedAt: Date.now(),
            broadcast: frame.type === "broadcast",
          };
          setInbox((previous) => [message, ...previous].slice(0, MAX_INBOX));
          if (frame.type === "broadcast" && from.userId === user.userId && awaiting.current?.kind === "broadcast") {
            awaiting.current = undefined;
            setBroadcastOutcome("Broadcast delivered: it arrived here too.");
          }
          log(
            "received",
            `${frame.type === "broadcast" ? "Broadcast" : "Message"} from ${from.username}: ${preview(data)}`,
          );
          return;
        }
        case "sent": {
          const { delivered, gone, failed } = frame;
          const pending = awaiting.current;
          const to = frame.to || (pending?.kind === "send" ? pending.to : "the recipient");
          if (pending?.kind === "send") awaiting.current = undefined;
          const extra = [gone ? `${gone} gone` : "", failed ? `${failed} failed` : ""].filter(Boolean).join(", ");
          // The server answers alike for an unknown user and an offline one: it says nothing more either.
          const text =
            delivered === 0
              ? `Not delivered: ${to} has no live connection.`
              : `Delivered to ${plural(delivered, "live connection")} of ${to}${extra ? ` (${extra})` : ""}.`;
          setSendOutcome(text);
          log("received", text);
          return;
        }
        case "broadcasted": {
          const { recipients, jobs } = frame;
          const how = jobs > 0 ? `, in ${plural(jobs, "parallel fan-out job")}` : "";
          log("received", `Broadcast receipt: for ${plural(recipients, "live connection")}${how}.`);
          return;
        }
        case "reauthenticated":
          return; // the client reports it as a notice
        case "revoked":
          // Every session of this user was revoked (Sign out everywhere, here or on another device, or
          // an admin): the server closes this socket next, and the tab signs out instead of reconnecting.
          log("warn", "This account was signed out everywhere: signing out here too.");
          if (!revokingHere.current) {
            close("signed out everywhere");
            onSignOutRef.current();
          }
          return;
        case "error": {
          const text = `${frame.message} (${frame.code})`;
          const pending = awaiting.current;
          awaiting.current = undefined;
          if (pending?.kind === "send") setSendOutcome(`Not delivered to ${pending.to}: ${text}`);
          if (pending?.kind === "broadcast") setBroadcastOutcome(`Not broadcast: ${text}`);
          log("error", `Server error: ${text}`);
          return;
        }
        case "event":
          log(
            "received",
            `Event #${frame.seq} on ${frame.channel} from ${frame.from.username}: ${preview(frame.data)}`,
          );
          return;
        case "presence":
          log("received", `${frame.member.username} ${frame.event === "join" ? "joined" : "left"} ${frame.channel}`);
          return;
        case "gap":
          log("warn", `${frame.channel}: events before #${frame.oldest} are no longer kept`);
          return;
        case "subscribed":
        case "unsubscribed":
        case "published":
          return; // the panels show what these mean
        case "unknown":
          log("received", `Unrecognised frame: ${preview(frame.raw)}`);
          return;
      }
    });
    return () => {
      stopNotices();
      stopFrames();
    };
  }, [client, log, user.userId, close]);

  const send = (frame: unknown, description: string): boolean => {
    if (!client) return false;
    const result = client.send(frame);
    if (result.ok) log("sent", description);
    else log("error", `Not sent: ${result.reason}`);
    return result.ok;
  };

  const signOut = () => {
    log("info", "Signing out: closing the socket.");
    close("signed out");
    onSignOut();
  };

  return (
    <div className="demo">
      <section className="panel panel-wide" aria-labelledby="session-title">
        <div className="panel-head">
          <h2 id="session-title">
            Signed in as <span data-testid="signed-in-as">{displayName}</span>
          </h2>
          <div className="row">
            <button type="button" onClick={signOut}>
              Sign out
            </button>
            <SignOutEverywhere
              client={client}
              canSend={isOpen}
              log={log}
              onSignedOut={() => {
                close("signed out everywhere");
                onSignOut();
              }}
              onStart={() => {
                revokingHere.current = true;
              }}
            />
          </div>
        </div>
        <StatusLine status={status} onRetry={() => client?.retryNow()} />
        <div className="row">
          <label htmlFor={transportId}>Send the token as</label>
          <select
            id={transportId}
            value={transport}
            onChange={(event) => setTransport(event.target.value === "query" ? "query" : "subprotocol")}
          >
            <option value="subprotocol">a subprotocol (recommended)</option>
            <option value="query">a query parameter (fallback)</option>
          </select>
        </div>
      </section>
      <IdentityPanel
        identity={identity}
        canAsk={isOpen}
        onAsk={() => send({ action: ROUTE.whoami }, "Asked the server who I am.")}
      />
      <EchoPanel
        canSend={isOpen}
        lastEcho={lastEcho}
        onSend={(text) => {
          // Always JSON on the wire: the echo route parses the body as JSON.
          const value = typedJson(text);
          return send(JSON.stringify(value), `Echo request: ${preview(value)}`);
        }}
      />
      <MessagePanel
        canSend={isOpen}
        outcome={sendOutcome}
        inbox={inbox}
        onSend={(to, text) => {
          const data = typedJson(text);
          const sent = send({ action: ROUTE.sendmessage, to, data }, `Message to ${to}: ${preview(data)}`);
          if (sent) {
            awaiting.current = { kind: "send", to };
            setSendOutcome(`Sending to ${to}…`);
          }
          return sent;
        }}
      />
      <BroadcastPanel
        canSend={isOpen}
        outcome={broadcastOutcome}
        onSend={(text) => {
          const data = typedJson(text);
          const sent = send({ action: ROUTE.broadcast, data }, `Broadcast: ${preview(data)}`);
          if (sent) {
            awaiting.current = { kind: "broadcast" };
            setBroadcastOutcome("Broadcasting…");
          }
          return sent;
        }}
      />
      <RoomPanel client={client} canSend={isOpen} />
      <NotificationsPanel client={client} userId={user.userId} />
      <EventLog entries={entries} onClear={clear} />
    </div>
  );
}
