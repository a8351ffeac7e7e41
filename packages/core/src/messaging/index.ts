export { createMessenger, type DeliveryReport, isGone, type Messenger, type MessengerOptions } from "./messenger";
export {
  createRealtime,
  type IncomingMessage,
  MESSAGE_ROUTES,
  type MessageRouteKey,
  type NotifyInput,
  notifyInputSchema,
  REAUTH_REFUSALS,
  type Realtime,
  type RealtimeOptions,
  type ReauthVerifier,
  type SweepOptions,
  type SweepReport,
} from "./realtime";
