export { type ChannelCaller, type Channels, createChannels, type PublishReport } from "./channels";
export {
  createFanOut,
  type FanOut,
  type FanOutDispatcher,
  type FanOutJob,
  type FanOutJobReport,
  type FanOutOptions,
  type FanOutReceipt,
  fanOutJobSchema,
  type Recipient,
} from "./fanout";
export { createFanOutMarkers, type FanOutMarkers } from "./fanout-markers";
export {
  type AbuseLimits,
  abuseLimitsFromEnv,
  frameWindowOf,
  type RecountOptions,
  recountConnections,
} from "./limits";
export { createManagementClient, lightRequestHandler } from "./management-client";
export {
  createMessenger,
  type DeliveryReport,
  isGone,
  type Messenger,
  type MessengerOptions,
  type SendOptions,
} from "./messenger";
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
