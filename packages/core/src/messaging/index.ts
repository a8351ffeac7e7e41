export { type ChannelCaller, type Channels, createChannels, type PublishReport } from "./channels";
export { createMessenger, type DeliveryReport, isGone, type Messenger, type MessengerOptions } from "./messenger";
export {
  type NotifyInput,
  type NotifyOptions,
  notifyChannelInputSchema,
  notifyInputSchema,
  notifyUser,
} from "./notify";
export {
  createRealtime,
  type IncomingMessage,
  MESSAGE_ROUTES,
  type MessageRouteKey,
  REAUTH_REFUSALS,
  type Realtime,
  type RealtimeOptions,
  type ReauthVerifier,
} from "./realtime";
export { type SweepOptions, type SweepReport, sweepConnections } from "./sweep";
