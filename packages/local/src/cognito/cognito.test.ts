import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfirmSignUpCommand,
  GetTokensFromRefreshTokenCommand,
  GetUserCommand,
  InitiateAuthCommand,
  SignUpCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { ADMIN_GROUP } from "@wsauth/core/constants";
import { Amplify } from "aws-amplify";
import { fetchAuthSession, fetchUserAttributes, signIn, signOut } from "aws-amplify/auth";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Reporter } from "../runner";
import { DEMO_USERS, type LocalCognito, localCognitoClient, startCognito } from "./index";

const warnings: string[] = [];
const infos: string[] = [];
const reporter: Reporter = {
  info: (line) => infos.push(line),
  warn: (line) => warnings.push(line),
  error: (line) => warnings.push(line),
};

function claims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

const alice = DEMO_USERS[0] ?? { username: "", password: "", groups: [] };
const bob = DEMO_USERS[1] ?? { username: "", password: "", groups: [] };

describe("local Cognito (cognito-local behind the refresh bridge)", () => {
  let stateDir: string;
  let cognito: LocalCognito;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "wsauth-cognito-"));
    cognito = await startCognito({ port: 0, stateDir, reporter });
  });
  afterAll(async () => {
    await cognito?.stop();
    await rm(stateDir, { recursive: true, force: true });
  });

  const passwordSignIn = async (username: string, password: string) => {
    const client = localCognitoClient(cognito.endpoint);
    try {
      const { AuthenticationResult } = await client.send(
        new InitiateAuthCommand({
          AuthFlow: "USER_PASSWORD_AUTH",
          ClientId: cognito.clientId,
          AuthParameters: { USERNAME: username, PASSWORD: password },
        }),
      );
      return AuthenticationResult;
    } finally {
      client.destroy();
    }
  };

  it("signs demo users in with the AWS SDK; tokens carry the public issuer, email and groups", async () => {
    const result = await passwordSignIn(alice.username, alice.password);
    const id = claims(result?.IdToken ?? "");
    expect(id.iss).toBe(cognito.issuer);
    expect(cognito.issuer.startsWith("http://127.0.0.1:")).toBe(true);
    expect(id.aud).toBe(cognito.clientId);
    expect(id.email).toBe(alice.username);
    expect(id.token_use).toBe("id");
    expect(id["cognito:groups"]).toEqual([ADMIN_GROUP]);

    const bobId = claims((await passwordSignIn(bob.username, bob.password))?.IdToken ?? "");
    expect(bobId["cognito:groups"]).toBeUndefined();
  });

  it("signs up with the code it reports, and marks the confirmed email verified as Cognito does", async () => {
    const email = "carol@example.com";
    const password = "Carol-Local-Test-3!";
    const client = localCognitoClient(cognito.endpoint);
    try {
      await client.send(
        new SignUpCommand({
          ClientId: cognito.clientId,
          Username: email,
          Password: password,
          UserAttributes: [{ Name: "email", Value: email }],
        }),
      );
      await expect.poll(() => infos.find((line) => line.startsWith(`confirmation code for ${email}:`))).toBeTruthy();
      const code = infos.find((line) => line.startsWith(`confirmation code for ${email}:`))?.split(": ")[1] ?? "";
      await client.send(
        new ConfirmSignUpCommand({ ClientId: cognito.clientId, Username: email, ConfirmationCode: code }),
      );
    } finally {
      client.destroy();
    }
    const id = claims((await passwordSignIn(email, password))?.IdToken ?? "");
    expect(id.email).toBe(email);
    expect(String(id.email_verified)).toBe("true");
  });

  it("rejects a wrong password", async () => {
    // AWS says NotAuthorizedException; cognito-local says InvalidPasswordException. Either is a refusal.
    await expect(passwordSignIn(bob.username, "wrong-Password-1!")).rejects.toMatchObject({
      name: expect.stringMatching(/^(NotAuthorized|InvalidPassword)Exception$/),
    });
  });

  it("serves the JWKS and a discovery document naming the real issuer", async () => {
    const jwks = (await (await fetch(cognito.jwksUri)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.length).toBeGreaterThan(0);
    const discovery = (await (await fetch(`${cognito.issuer}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: cognito.issuer, jwks_uri: cognito.jwksUri });
  });

  it("answers GetTokensFromRefreshToken (which cognito-local lacks) with fresh tokens", async () => {
    const first = await passwordSignIn(bob.username, bob.password);
    const client = localCognitoClient(cognito.endpoint);
    try {
      const { AuthenticationResult } = await client.send(
        new GetTokensFromRefreshTokenCommand({ ClientId: cognito.clientId, RefreshToken: first?.RefreshToken }),
      );
      expect(AuthenticationResult?.IdToken).toBeTruthy();
      expect(AuthenticationResult?.IdToken).not.toBe(first?.IdToken);
      expect(claims(AuthenticationResult?.IdToken ?? "").email).toBe(bob.username);
      expect(AuthenticationResult?.ExpiresIn).toBeGreaterThan(0);
      expect(AuthenticationResult?.TokenType).toBe("Bearer");

      await expect(
        client.send(new GetTokensFromRefreshTokenCommand({ ClientId: cognito.clientId, RefreshToken: "not-a-token" })),
      ).rejects.toMatchObject({ name: "NotAuthorizedException" });
      // Everything else passes through to cognito-local.
      const user = await client.send(new GetUserCommand({ AccessToken: first?.AccessToken }));
      expect(user.UserAttributes?.find((a) => a.Name === "email")?.Value).toBe(bob.username);
    } finally {
      client.destroy();
    }
  });

  it("a missing refresh token is a clear 400, not a crash", async () => {
    const response = await fetch(cognito.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AWSCognitoIdentityProviderService.GetTokensFromRefreshToken",
      },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ __type: "SerializationException" });
  });

  it("signs in with Amplify (USER_PASSWORD_AUTH) and refreshes through the bridge", async () => {
    // Amplify warns (on the console) about any custom pool endpoint: expected here, and checked.
    const warnings = vi.spyOn(console, "warn").mockImplementation(() => {});
    Amplify.configure({
      Auth: {
        Cognito: {
          userPoolId: cognito.userPoolId,
          userPoolClientId: cognito.clientId,
          userPoolEndpoint: cognito.endpoint,
          loginWith: { email: true },
        },
      },
    });
    const result = await signIn({
      username: alice.username,
      password: alice.password,
      options: { authFlowType: "USER_PASSWORD_AUTH" },
    });
    expect(result.isSignedIn).toBe(true);
    const before = await fetchAuthSession();
    const refreshed = await fetchAuthSession({ forceRefresh: true });
    expect(refreshed.tokens?.idToken?.toString()).toBeTruthy();
    expect(refreshed.tokens?.idToken?.toString()).not.toBe(before.tokens?.idToken?.toString());
    expect(refreshed.tokens?.idToken?.payload.email).toBe(alice.username);
    const attributes = await fetchUserAttributes();
    expect(attributes.email).toBe(alice.username);
    await signOut();
    expect(warnings.mock.calls.map((call) => call.join(" ")).join("\n")).toContain(
      "custom Amazon Amazon Cognito User Pool endpoint",
    );
    warnings.mockRestore();
  });

  it("keeps the pool, client and users across restarts (idempotent provisioning)", async () => {
    const again = await startCognito({ port: 0, stateDir: await mkdtemp(join(tmpdir(), "wsauth-cognito-")), reporter });
    await again.stop();
    const before = { pool: cognito.userPoolId, client: cognito.clientId };
    await cognito.stop();
    cognito = await startCognito({ port: 0, stateDir, reporter });
    expect({ pool: cognito.userPoolId, client: cognito.clientId }).toEqual(before);
    // Group membership survived (read from the token: cognito-local's AdminListGroupsForUser ignores email names).
    const id = claims((await passwordSignIn(alice.username, alice.password))?.IdToken ?? "");
    expect(id["cognito:groups"]).toEqual([ADMIN_GROUP]);
  });

  it("recreates corrupt state instead of failing", async () => {
    const corruptDir = await mkdtemp(join(tmpdir(), "wsauth-cognito-"));
    const first = await startCognito({ port: 0, stateDir: corruptDir, reporter });
    await first.stop();
    const dbDir = join(corruptDir, "cognito", ".cognito", "db");
    await writeFile(join(dbDir, `${first.userPoolId}.json`), "{ this is not json");
    await writeFile(join(dbDir, "clients.json"), "{ nor this");
    const second = await startCognito({ port: 0, stateDir: corruptDir, reporter });
    try {
      expect(second.userPoolId).toBeTruthy();
      expect(warnings.some((line) => line.includes("unusable"))).toBe(true);
    } finally {
      await second.stop();
      await rm(corruptDir, { recursive: true, force: true });
    }
  });
});
