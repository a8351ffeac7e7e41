"use client";

import type { ChannelMessage, SocketClient } from "@wsauth/client";
import { useEffect, useState } from "react";
import { preview } from "./format";

const MAX_NOTIFICATIONS = 50;

/**
 * The user's inbox channel `user/<sub>`: only they may subscribe, only backends publish to it (the
 * `Notify` function, `pnpm ws publish user/<sub> '<json>'`), on every device they are signed in on.
 */
export function NotificationsPanel({ client, userId }: { client: SocketClient | undefined; userId: string }) {
  const channel = `user/${userId}`;
  const [items, setItems] = useState<Array<{ seq: number; text: string; sentAt: string }>>([]);

  useEffect(() => {
    if (!client) return;
    return client.subscribe(channel, (message: ChannelMessage) => {
      if (message.type !== "event") return;
      const item = { seq: message.seq, text: preview(message.data), sentAt: message.sentAt };
      setItems((previous) => [item, ...previous].slice(0, MAX_NOTIFICATIONS));
    });
  }, [client, channel]);

  return (
    <section className="panel" aria-labelledby="notifications-title">
      <h2 id="notifications-title">Notifications</h2>
      <p className="hint">
        Your channel <code data-testid="inbox-channel">{channel}</code>. Try{" "}
        <code>pnpm ws publish {channel} &apos;&#123;&quot;hello&quot;:1&#125;&apos;</code>
      </p>
      <ul data-testid="notifications">
        {items.length === 0 ? <li className="hint">Nothing yet.</li> : null}
        {items.map((item) => (
          <li key={item.seq}>
            {item.text} <span className="hint">{new Date(item.sentAt).toLocaleTimeString()}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
