export { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from "./backoff";
export {
  describeClose,
  type IdToken,
  type SendResult,
  SOCKET_DEFAULTS,
  SocketClient,
  type SocketClientOptions,
  type SocketNotice,
  type SocketStatus,
  type TokenProvider,
  type Transport,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./client";
export { type ReceivedFrame, readServerFrame, type UnknownFrame } from "./incoming";
export { acquireSocket, closeSocket, type SocketLease } from "./shared";
