import type { ChannelName } from "./name";

/**
 * Who may use a channel, by namespace. This table is the whole policy: to add a namespace, add a row.
 *
 * - `signed-in`: any authenticated connection.
 * - `group-members`: members of the Cognito group named by the channel's second segment
 *   (`group/<g>/…`), as the connection's registry row records them (refreshed by `reauth`).
 * - `owner`: the user whose id (`sub`) is the channel's second segment (`user/<sub>`).
 * - `nobody`: no client; server-side publishes (`notify`, `pnpm ws publish`) are allowed by `serverPublish`.
 */
export type Audience = "signed-in" | "group-members" | "owner" | "nobody";

export interface NamespaceRule {
  subscribe: Audience;
  /** Publishing from a client (the `publish` route). */
  publish: Audience;
  /** Publishing from a backend (`notify`, the CLI). */
  serverPublish: boolean;
  /** Subscribers are tracked per user and see `presence` join/leave frames. */
  presence: boolean;
}

export const NAMESPACE_RULES = {
  public: { subscribe: "signed-in", publish: "signed-in", serverPublish: true, presence: false },
  presence: { subscribe: "signed-in", publish: "signed-in", serverPublish: true, presence: true },
  group: { subscribe: "group-members", publish: "group-members", serverPublish: true, presence: false },
  user: { subscribe: "owner", publish: "nobody", serverPublish: true, presence: false },
} as const satisfies Record<string, NamespaceRule>;

export type ChannelAction = "subscribe" | "publish";

/** Who asks: a signed-in connection's user, or a backend service. */
export type ChannelActor = { userId: string; groups: readonly string[] } | "server";

export interface RuleDecision {
  allowed: boolean;
  /** Why, for the log (and the `forbidden` frame). */
  reason: string;
}

export function ruleOf(channel: ChannelName): NamespaceRule | undefined {
  return Object.hasOwn(NAMESPACE_RULES, channel.namespace)
    ? NAMESPACE_RULES[channel.namespace as keyof typeof NAMESPACE_RULES]
    : undefined;
}

/** Whether a channel is a presence channel (subscribers are counted per user). */
export function tracksPresence(channel: ChannelName): boolean {
  return ruleOf(channel)?.presence ?? false;
}

/** Applies the namespace's rule to one action of one actor. */
export function decide(channel: ChannelName, action: ChannelAction, actor: ChannelActor): RuleDecision {
  const rule = ruleOf(channel);
  if (!rule) return { allowed: false, reason: `unknown namespace "${channel.namespace}"` };
  if (actor === "server") {
    return rule.serverPublish || action === "subscribe"
      ? { allowed: true, reason: "server publish" }
      : { allowed: false, reason: `namespace "${channel.namespace}" takes no server publishes` };
  }
  const audience = rule[action];
  const subject = channel.segments[1] ?? "";
  switch (audience) {
    case "signed-in":
      return { allowed: true, reason: "signed-in user" };
    case "group-members":
      return actor.groups.includes(subject)
        ? { allowed: true, reason: `member of group "${subject}"` }
        : { allowed: false, reason: `not a member of group "${subject}"` };
    case "owner":
      return actor.userId === subject
        ? { allowed: true, reason: "the channel's owner" }
        : { allowed: false, reason: `only the channel's owner may ${action}` };
    case "nobody":
      return { allowed: false, reason: `clients may not ${action} in namespace "${channel.namespace}"` };
  }
}
