export type { IdToken, ReceivedFrame, SocketClient, SocketStatus, Transport } from "@wsauth/client";
export { useSocket } from "./useSocket";
