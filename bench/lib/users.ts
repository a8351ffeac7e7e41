import {
  AdminCreateUserCommand,
  AdminSetUserPasswordCommand,
  type CognitoIdentityProviderClient,
} from "@aws-sdk/client-cognito-identity-provider";
import type { LocalOutputs } from "@wsauth/core/constants";
import { localCognitoClient } from "@wsauth/local/cognito";
import { signIn } from "@wsauth/local/testing";

/** A user created in the local Cognito for a load run, signed in. */
export interface LoadUser {
  userId: string;
  username: string;
  idToken: string;
}

/** The `sub` claim of an ID token (no verification: the token came straight from the local Cognito). */
export function subOf(idToken: string): string {
  const payload = idToken.split(".")[1];
  if (!payload) throw new Error("not a JWT");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown };
  if (typeof claims.sub !== "string") throw new Error("the token has no sub");
  return claims.sub;
}

async function createUser(client: CognitoIdentityProviderClient, userPoolId: string, email: string, password: string) {
  await client.send(
    new AdminCreateUserCommand({
      UserPoolId: userPoolId,
      Username: email,
      MessageAction: "SUPPRESS",
      UserAttributes: [
        { Name: "email", Value: email },
        { Name: "email_verified", Value: "true" },
      ],
    }),
  );
  await client.send(
    new AdminSetUserPasswordCommand({ UserPoolId: userPoolId, Username: email, Password: password, Permanent: true }),
  );
}

/**
 * Creates `count` users in the stack's Cognito (through its admin API, as an operator would) and
 * signs each in with USER_PASSWORD_AUTH. Names are `<prefix>-<n>@example.com`.
 */
export async function createLoadUsers(outputs: LocalOutputs, count: number, prefix = "load"): Promise<LoadUser[]> {
  const client = localCognitoClient(outputs.cognitoEndpoint);
  // A password that satisfies the pool's policy; it exists only in a throwaway emulator state dir.
  const password = "Load-Test-Pass-1!";
  try {
    const users: LoadUser[] = [];
    for (let index = 0; index < count; index += 1) {
      const username = `${prefix}-${index}@example.com`;
      await createUser(client, outputs.userPoolId, username, password);
      const { idToken } = await signIn(outputs, username, password);
      users.push({ userId: subOf(idToken), username, idToken });
    }
    return users;
  } finally {
    client.destroy();
  }
}
