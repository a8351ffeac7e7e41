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
export {
  type ChannelEvent,
  type ChannelStore,
  type ChannelStoreOptions,
  createChannelStore,
  type Member,
  type NewSubscription,
} from "./store";
