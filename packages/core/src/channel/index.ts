export { CHANNEL_NAME_MAX_LENGTH, type ChannelName, channelNameSchema, parseChannelName } from "./name";
export {
  type Audience,
  type ChannelAction,
  type ChannelActor,
  decide,
  NAMESPACE_RULES,
  type NamespaceRule,
  type RuleDecision,
  ruleOf,
  tracksPresence,
} from "./rules";
export { type SequenceState, staleMarks } from "./sequence";
export {
  type ChannelEvent,
  type ChannelStore,
  type ChannelStoreOptions,
  createChannelStore,
  type HistoryEntry,
  type Member,
  type NewSubscription,
  type Subscriber,
} from "./store";
