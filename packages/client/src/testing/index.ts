export { FakeWebSocket } from "./fake-websocket";
