"use client";

import type { ChannelMessage, SocketClient } from "@wsauth/client";
import { useEffect, useState } from "react";
import { preview } from "./format";
import { TextSendForm } from "./TextSendForm";

/** The room everyone can join: a presence channel, so members are counted per user across their tabs. */
export const LOBBY = "presence/lobby";
const MAX_LINES = 100;

interface Member {
  userId: string;
  username: string;
}
interface ChatLine {
  seq: number;
  from: string;
  text: string;
  sentAt: string;
}

/** Who is in the lobby (joins and leaves live) and its chat; missed lines arrive after a reconnect. */
export function RoomPanel({ client, canSend }: { client: SocketClient | undefined; canSend: boolean }) {
  const [members, setMembers] = useState<Member[]>([]);
  const [lines, setLines] = useState<ChatLine[]>([]);
  const [notice, setNotice] = useState<string>();

  useEffect(() => {
    if (!client) return;
    return client.subscribe(LOBBY, (message: ChannelMessage) => {
      switch (message.type) {
        case "subscribed":
          setMembers(message.members ?? []);
          return;
        case "presence": {
          const { member } = message;
          setMembers((previous) =>
            message.event === "join"
              ? [...previous.filter((m) => m.userId !== member.userId), member]
              : previous.filter((m) => m.userId !== member.userId),
          );
          return;
        }
        case "event": {
          const { data } = message;
          const text = typeof data === "object" && data && "text" in data ? String(data.text) : preview(data);
          const line = { seq: message.seq, from: message.from.username, text, sentAt: message.sentAt };
          setLines((previous) => [...previous, line].slice(-MAX_LINES));
          return;
        }
        case "gap":
          setNotice(`Some older messages are no longer kept (before #${message.oldest}).`);
          return;
        case "error":
          setNotice(`${message.message} (${message.code})`);
          return;
      }
    });
  }, [client]);

  return (
    <section className="panel" aria-labelledby="room-title">
      <h2 id="room-title">Room</h2>
      <p className="hint">
        <code>{LOBBY}</code>: {members.length === 1 ? "1 person is" : `${members.length} people are`} here.
      </p>
      <ul data-testid="room-members">
        {members.map((member) => (
          <li key={member.userId}>{member.username}</li>
        ))}
      </ul>
      <ol className="stack" data-testid="room-chat">
        {lines.map((line) => (
          <li key={line.seq} data-seq={line.seq}>
            <strong>{line.from}</strong>: {line.text}
          </li>
        ))}
      </ol>
      <TextSendForm
        label="Say something to the room"
        hint="Everyone in the room sees it, you too."
        rows={1}
        submitLabel="Send to room"
        canSend={canSend}
        onSend={(text) => {
          if (!client) return false;
          client.publish(LOBBY, { text }).catch((error: unknown) => setNotice(String(error)));
          return true;
        }}
      />
      {notice ? (
        <p className="result" role="status">
          {notice}
        </p>
      ) : null}
    </section>
  );
}
