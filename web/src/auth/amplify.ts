import { Amplify } from "aws-amplify";
import { fetchAuthSession, type SignInInput, type SignUpInput, signIn, signOut, signUp } from "aws-amplify/auth";
import type { WebConfig } from "../config";
import type { IdToken } from "../socket";

/**
 * Amplify Auth for the site: a Cognito user pool only (no identity pool), email as the sign-in
 * name. Locally the pool is the emulator (`userPoolEndpoint`), which has no SRP, hence the
 * configurable sign-in flow.
 */

let configuredFor: string | undefined;

/** Idempotent: safe to call on every render. */
export function configureAmplify(config: WebConfig): void {
  const key = JSON.stringify(config);
  if (configuredFor === key) return;
  Amplify.configure({
    Auth: {
      Cognito: {
        userPoolId: config.userPoolId,
        userPoolClientId: config.userPoolClientId,
        ...(config.cognitoEndpoint ? { userPoolEndpoint: config.cognitoEndpoint } : {}),
        loginWith: { email: true },
        signUpVerificationMethod: "code",
      },
    },
  });
  configuredFor = key;
}

/** The Authenticator's sign-in, with the configured flow (SRP deployed, password locally). */
export function signInWith(authFlow: WebConfig["authFlow"]): typeof signIn {
  const handleSignIn = (input: SignInInput) =>
    signIn({ ...input, options: { ...input.options, authFlowType: authFlow } });
  // `signIn` also has a server-side overload taking a context first; the Authenticator only ever
  // calls the one-argument form, which is all this override implements.
  return handleSignIn as typeof signIn;
}

/**
 * The Authenticator's sign-up. After the code is confirmed it signs the new user in by itself
 * ("auto sign-in"), by default with SRP, which the local emulator lacks: this keeps the configured flow.
 */
export function signUpWith(authFlow: WebConfig["authFlow"]): typeof signUp {
  const handleSignUp = (input: SignUpInput) =>
    signUp({
      ...input,
      options: {
        ...input.options,
        userAttributes: input.options?.userAttributes ?? {},
        autoSignIn: { authFlowType: authFlow },
      },
    });
  // As with sign-in: the Authenticator only calls the one-argument form.
  return handleSignUp as typeof signUp;
}

/** The socket's token source: the ID token of the current session, refreshed by Amplify on demand. */
export async function currentIdToken({ forceRefresh }: { forceRefresh: boolean }): Promise<IdToken> {
  const session = await fetchAuthSession({ forceRefresh });
  const idToken = session.tokens?.idToken;
  if (!idToken) throw new Error("the session has no ID token; sign in again");
  const exp = idToken.payload.exp;
  if (typeof exp !== "number") throw new Error("the ID token has no expiry");
  return { token: idToken.toString(), expiresAt: exp * 1000 };
}

/**
 * Amplify's global sign-out: Cognito revokes the user's refresh tokens (and access tokens) on every
 * device, and this tab forgets its tokens. Amplify never throws for the global part: where the user
 * pool does not implement it (the local emulator has no GlobalSignOut), the tab is signed out all the
 * same, and the server-side revocation the site asked for first is what closes the other sockets.
 */
export function signOutGlobally(): Promise<void> {
  return signOut({ global: true });
}
