import { ADMIN_GROUP, RESOURCE, WEB_CLIENT_AUTH_FLOWS } from "@wsauth/core/constants";
import { keepInProtectedStage } from "./stage";

// Users sign in with their email address; Cognito mails a code to verify it on sign-up.
// The email address is the name every frame shows (`username`), so it must be one the user proved they
// own: a changed address only takes effect once its new code is confirmed (until then the token keeps
// the old, verified one). SST already makes user names case-insensitive, so `Alice@…` and `alice@…`
// are one user.
export const userPool = new sst.aws.CognitoUserPool(RESOURCE.userPool, {
  usernames: ["email"],
  verify: {
    emailSubject: "Your wsauth verification code",
    emailMessage: "Your wsauth verification code is {####}",
  },
  transform: {
    userPool: (args, opts) => {
      args.userAttributeUpdateSettings = { attributesRequireVerificationBeforeUpdates: ["email"] };
      keepInProtectedStage(opts);
    },
  },
});

// The browser client: it cannot keep a secret, so it has none. It signs in with SRP only (the
// password never leaves the browser) and refreshes; USER_PASSWORD_AUTH is for the local emulator's
// client alone (WEB_CLIENT_AUTH_FLOWS). Tools that act on a deployed stage use IAM, not a user's token.
export const webClient = userPool.addClient(RESOURCE.webClient, {
  transform: {
    client: (args) => {
      args.generateSecret = false;
      args.explicitAuthFlows = [...WEB_CLIENT_AUTH_FLOWS.deployed];
      // No hosted UI: SST's default OAuth flows (implicit grant puts tokens in URLs) stay off.
      args.allowedOauthFlowsUserPoolClient = false;
      args.allowedOauthFlows = [];
      args.allowedOauthScopes = [];
      args.callbackUrls = [];
      // Sign-in errors must not reveal whether an account exists.
      args.preventUserExistenceErrors = "ENABLED";
    },
  },
});

// Members of this group may broadcast to every connection.
export const adminGroup = new aws.cognito.UserGroup("AdminGroup", {
  userPoolId: userPool.id,
  name: ADMIN_GROUP,
  description: "May broadcast to every live connection",
});

/** Lambda environment variables are capped at 4 KB in total; a JWKS larger than this is not embedded. */
const MAX_JWKS_SNAPSHOT_BYTES = 3 * 1024;

/**
 * The pool's public signing keys, fetched while deploying so the authorizer can verify a token on a
 * cold start without a network call. Best effort: when the keys cannot be fetched the value is
 * undefined and the authorizer fetches them on first use instead.
 */
export const jwksSnapshot = $resolve([userPool.id, aws.getRegionOutput().region]).apply(([poolId, region]) =>
  fetchJwks(`https://cognito-idp.${region}.amazonaws.com/${poolId}/.well-known/jwks.json`),
);

async function fetchJwks(url: string): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) {
      $util.log.warn(`JWKS snapshot skipped: ${url} answered ${response.status}`);
      return undefined;
    }
    const body: unknown = await response.json();
    const keys = typeof body === "object" && body !== null ? (body as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys) || keys.length === 0) {
      $util.log.warn(`JWKS snapshot skipped: ${url} returned no keys`);
      return undefined;
    }
    const snapshot = JSON.stringify({ keys });
    if (Buffer.byteLength(snapshot) > MAX_JWKS_SNAPSHOT_BYTES) {
      $util.log.warn(`JWKS snapshot skipped: ${snapshot.length} bytes is too large for a Lambda environment`);
      return undefined;
    }
    return snapshot;
  } catch (error) {
    $util.log.warn(`JWKS snapshot skipped: ${url} could not be fetched (${String(error)})`);
    return undefined;
  }
}
