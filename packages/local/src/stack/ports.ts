import { createServer } from "node:net";
import type { LOCAL } from "@wsauth/core/constants";
import type { PortRole } from "../runner";

export type PortName = keyof typeof LOCAL.ports;
export type StackPorts = Record<PortName, number>;

/** What each port serves, and how a developer moves it (CLI flag or environment variable). */
export const PORT_ROLES: Record<PortName, PortRole> = {
  web: { role: "web site (next dev)", flag: "--web-port", envVar: "WSAUTH_WEB_PORT" },
  gateway: { role: "WebSocket gateway", flag: "--gateway-port", envVar: "WSAUTH_GATEWAY_PORT" },
  cognito: { role: "Cognito emulator", flag: "--cognito-port", envVar: "WSAUTH_COGNITO_PORT" },
  dynamo: { role: "DynamoDB (dynalite)", flag: "--dynamo-port", envVar: "WSAUTH_DYNAMO_PORT" },
};

/** An ephemeral port that is free right now (for servers that cannot listen on port 0 themselves). */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
