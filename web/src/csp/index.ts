import type { WebConfig } from "../config";

/**
 * The site's Content-Security-Policy, built per request from the same configuration the page renders
 * with (readWebConfig), so the origins it may talk to can never drift from the ones it uses: its own,
 * the Cognito endpoint Amplify calls, and the WebSocket endpoint. Scripts run only with the request's
 * nonce (Next.js puts it on its own scripts when the request carries this policy); `'strict-dynamic'`
 * lets those scripts load the page's chunks. `next dev` needs `eval` (React rebuilds server error
 * stacks with it) and injects styles without a nonce, so development relaxes exactly those two.
 */

export const CSP_HEADER = "Content-Security-Policy";

export interface PolicyInput {
  /** The site's configuration; undefined when it is incomplete (the page then only lists the problems). */
  config: WebConfig | undefined;
  /** This request's nonce (createNonce). */
  nonce: string;
  /** `next dev` (NODE_ENV=development). */
  development: boolean;
}

const NONCE_BYTES = 16;
const NONCE = /^[A-Za-z0-9+/]+={0,2}$/;
/** A scheme and a host (and port) and nothing else: no path, no space, no `;` or `,` that could end a directive. */
const ORIGIN = /^(https?|wss?):\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^(https?|wss?):\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/** A fresh, unguessable nonce for one response (128 random bits, base64). */
export function createNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(NONCE_BYTES))).toString("base64");
}

/**
 * The Cognito endpoint Amplify signs in against: the configured one (the local emulator), or the
 * user pool's regional endpoint, whose region Amplify reads from the pool id (`us-east-1_…`).
 */
export function cognitoOrigin(config: WebConfig): string | undefined {
  if (config.cognitoEndpoint) return originOf(config.cognitoEndpoint);
  const region = config.userPoolId.split("_")[0] || config.region;
  const dnsSuffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `https://cognito-idp.${region}.${dnsSuffix}`;
}

/** Where the page may connect besides its own origin: Cognito and the WebSocket endpoint. */
export function connectSources(config: WebConfig | undefined): string[] {
  if (!config) return [];
  const origins = [cognitoOrigin(config), originOf(config.webSocketUrl)];
  return [...new Set(origins)].filter((origin): origin is string => origin !== undefined && ORIGIN.test(origin));
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export function contentSecurityPolicy({ config, nonce, development }: PolicyInput): string {
  if (!NONCE.test(nonce)) throw new Error("the CSP nonce must be base64");
  const directives: Record<string, string[]> = {
    "default-src": ["'self'"],
    "script-src": ["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", ...(development ? ["'unsafe-eval'"] : [])],
    "style-src": ["'self'", development ? "'unsafe-inline'" : `'nonce-${nonce}'`],
    "connect-src": ["'self'", ...connectSources(config)],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(" ")}`)
    .join("; ");
}
