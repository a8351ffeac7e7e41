import { ADMIN_GROUP } from "@wsauth/core/constants";

/** A user the local stack creates in its pool on every start (idempotently). */
export interface DemoUser {
  /** The sign-in name: an email address (the pool signs in by email). */
  username: string;
  password: string;
  groups: string[];
}

/**
 * Demo logins of the local stack. The passwords are public on purpose: they exist only in the local
 * emulator, whose signing key is public too, and no deployed stage trusts either.
 */
export const DEMO_USERS: readonly DemoUser[] = [
  { username: "alice@example.com", password: "Alice-Local-Demo-1!", groups: [ADMIN_GROUP] },
  { username: "bob@example.com", password: "Bob-Local-Demo-2!", groups: [] },
];

/** Names of the pool and web client the local stack creates (found again by name on the next start). */
export const LOCAL_POOL_NAME = "wsauth-local";
export const LOCAL_CLIENT_NAME = "wsauth-local-web";
