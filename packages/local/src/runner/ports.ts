import { createServer } from "node:net";
import { LocalStackError } from "./errors";

/** Which part of the stack a port belongs to, with the CLI flag and env var that move it. */
export interface PortRole {
  role: string;
  flag: string;
  envVar: string;
}

export function portInUse(port: number, role: PortRole, cause?: unknown): LocalStackError {
  return new LocalStackError(
    `port ${port} (${role.role}) is already in use`,
    `stop whatever listens on ${port} or pick another port with ${role.flag} <port> or ${role.envVar}=<port>`,
    { cause },
  );
}

/** Whether an error is a listen failure because the address is taken. */
export function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";
}

/**
 * Fails with a clear error when `port` is taken on `host`. Port 0 (ephemeral) is always free. Checked
 * up front so the stack refuses to start before it spawns anything, instead of half-starting.
 */
export async function assertPortFree(port: number, host: string, role: PortRole): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) => reject(isAddressInUse(error) ? portInUse(port, role, error) : error));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
