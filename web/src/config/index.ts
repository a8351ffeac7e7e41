import { WEB_ENV } from "@wsauth/core/constants";

/**
 * The site's configuration, read on the server at request time from the environment named by
 * WEB_ENV (the local stack sets it from its outputs; infra/web.ts sets it when deployed) and handed
 * to the client components as props. Reading at request time (not inlining at build time) lets one
 * build serve any stage.
 */

export const AUTH_FLOWS = ["USER_SRP_AUTH", "USER_PASSWORD_AUTH"] as const;
export type AuthFlow = (typeof AUTH_FLOWS)[number];

export interface WebConfig {
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  webSocketUrl: string;
  /** Local only: the Cognito emulator; Amplify's `userPoolEndpoint`. */
  cognitoEndpoint?: string;
  authFlow: AuthFlow;
  /** Local stack only: demo logins to show on the sign-in page. */
  demoUsers?: Array<{ username: string; password: string }>;
}

export type WebConfigResult = { ok: true; config: WebConfig } | { ok: false; problems: string[] };

type Env = Readonly<Record<string, string | undefined>>;

function isUrl(value: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

export function readWebConfig(env: Env): WebConfigResult {
  const problems: string[] = [];
  const read = (name: string): string => env[name]?.trim() ?? "";
  const required = (name: string): string => {
    const value = read(name);
    if (!value) problems.push(`${name} is not set.`);
    return value;
  };

  const region = required(WEB_ENV.region);
  const userPoolId = required(WEB_ENV.userPoolId);
  const userPoolClientId = required(WEB_ENV.userPoolClientId);
  const webSocketUrl = required(WEB_ENV.webSocketUrl);
  if (webSocketUrl && !isUrl(webSocketUrl, ["ws:", "wss:"])) {
    problems.push(`${WEB_ENV.webSocketUrl} must be a ws:// or wss:// URL (it is "${webSocketUrl}").`);
  }
  const cognitoEndpoint = read(WEB_ENV.cognitoEndpoint);
  if (cognitoEndpoint && !isUrl(cognitoEndpoint, ["http:", "https:"])) {
    problems.push(`${WEB_ENV.cognitoEndpoint} must be an http(s) URL (it is "${cognitoEndpoint}").`);
  }
  const authFlow = read(WEB_ENV.authFlow) || "USER_SRP_AUTH";
  if (!(AUTH_FLOWS as readonly string[]).includes(authFlow)) {
    problems.push(`${WEB_ENV.authFlow} must be one of ${AUTH_FLOWS.join(", ")} (it is "${authFlow}").`);
  }
  // A deployed app client takes no password (WEB_CLIENT_AUTH_FLOWS): the password flow is the emulator's.
  if (authFlow === "USER_PASSWORD_AUTH" && !cognitoEndpoint) {
    problems.push(
      `${WEB_ENV.authFlow}=USER_PASSWORD_AUTH is for the local Cognito emulator (${WEB_ENV.cognitoEndpoint}); deployed app clients sign in with USER_SRP_AUTH.`,
    );
  }

  // Only next to the Cognito emulator: a deployed stage never lists logins, whatever its environment says.
  const demoUsers = cognitoEndpoint ? readDemoUsers(read(WEB_ENV.demoUsers)) : [];

  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      region,
      userPoolId,
      userPoolClientId,
      webSocketUrl,
      ...(cognitoEndpoint ? { cognitoEndpoint } : {}),
      authFlow: authFlow as AuthFlow,
      ...(demoUsers.length > 0 ? { demoUsers } : {}),
    },
  };
}

/** The local stack's demo logins; anything malformed is ignored (they are a convenience, not config). */
function readDemoUsers(text: string): Array<{ username: string; password: string }> {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) return [];
    return parsed.flatMap((entry: unknown) => {
      const { username, password } = (entry ?? {}) as Record<string, unknown>;
      return typeof username === "string" && typeof password === "string" ? [{ username, password }] : [];
    });
  } catch {
    return [];
  }
}
