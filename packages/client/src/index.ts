export { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from "./backoff";
export {
  type ChannelHandler,
  type ChannelMessage,
  channelNameProblem,
  REORDER_WINDOW_MS,
} from "./channels";
export {
  describeClose,
  type IdToken,
  type SendResult,
  ServerError,
  SOCKET_DEFAULTS,
  SocketClient,
  SocketClient as WsAuthClient,
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
