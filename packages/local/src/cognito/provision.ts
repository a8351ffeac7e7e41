import {
  AdminAddUserToGroupCommand,
  AdminCreateUserCommand,
  AdminGetUserCommand,
  AdminSetUserPasswordCommand,
  CognitoIdentityProviderClient,
  CreateGroupCommand,
  CreateUserPoolClientCommand,
  CreateUserPoolCommand,
  ListGroupsCommand,
  ListUserPoolClientsCommand,
  ListUserPoolsCommand,
} from "@aws-sdk/client-cognito-identity-provider";
import { LOCAL, LOCAL_CREDENTIALS, WEB_CLIENT_AUTH_FLOWS } from "@wsauth/core/constants";
import { type DemoUser, LOCAL_CLIENT_NAME, LOCAL_POOL_NAME } from "./demo-users";

export interface ProvisionedPool {
  userPoolId: string;
  clientId: string;
}

/** An SDK client for a local Cognito endpoint (dummy credentials: the emulator does not check them). */
export function localCognitoClient(endpoint: string): CognitoIdentityProviderClient {
  return new CognitoIdentityProviderClient({
    endpoint,
    region: LOCAL.region,
    credentials: { ...LOCAL_CREDENTIALS },
  });
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === "UserNotFoundException" || name === "ResourceNotFoundException";
}

async function ensurePool(client: CognitoIdentityProviderClient): Promise<string> {
  const { UserPools } = await client.send(new ListUserPoolsCommand({ MaxResults: 60 }));
  const existing = UserPools?.find((pool) => pool.Name === LOCAL_POOL_NAME)?.Id;
  if (existing) return existing;
  const { UserPool } = await client.send(
    new CreateUserPoolCommand({
      PoolName: LOCAL_POOL_NAME,
      // Same sign-in shape as the deployed pool: people sign in with their email address.
      UsernameAttributes: ["email"],
      AutoVerifiedAttributes: ["email"],
      Policies: {
        PasswordPolicy: {
          MinimumLength: 8,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    }),
  );
  if (!UserPool?.Id) throw new Error("CreateUserPool returned no pool id");
  return UserPool.Id;
}

async function ensureClient(client: CognitoIdentityProviderClient, userPoolId: string): Promise<string> {
  const { UserPoolClients } = await client.send(
    new ListUserPoolClientsCommand({ UserPoolId: userPoolId, MaxResults: 60 }),
  );
  const existing = UserPoolClients?.find((app) => app.ClientName === LOCAL_CLIENT_NAME)?.ClientId;
  if (existing) return existing;
  const { UserPoolClient } = await client.send(
    new CreateUserPoolClientCommand({
      UserPoolId: userPoolId,
      ClientName: LOCAL_CLIENT_NAME,
      GenerateSecret: false,
      // The emulator has no SRP: the local site, tests and benchmarks sign in with a password.
      ExplicitAuthFlows: [...WEB_CLIENT_AUTH_FLOWS.local],
    }),
  );
  if (!UserPoolClient?.ClientId) throw new Error("CreateUserPoolClient returned no client id");
  return UserPoolClient.ClientId;
}

async function ensureGroup(client: CognitoIdentityProviderClient, userPoolId: string, groupName: string) {
  // Listed rather than fetched: cognito-local answers GetGroup for a missing group with a bare 500.
  const { Groups } = await client.send(new ListGroupsCommand({ UserPoolId: userPoolId, Limit: 60 }));
  if (Groups?.some((group) => group.GroupName === groupName)) return;
  // Only create a missing group: cognito-local's CreateGroup overwrites an existing one and drops its members.
  await client.send(new CreateGroupCommand({ UserPoolId: userPoolId, GroupName: groupName }));
}

async function ensureUser(client: CognitoIdentityProviderClient, userPoolId: string, user: DemoUser) {
  try {
    await client.send(new AdminGetUserCommand({ UserPoolId: userPoolId, Username: user.username }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
    await client.send(
      new AdminCreateUserCommand({
        UserPoolId: userPoolId,
        Username: user.username,
        MessageAction: "SUPPRESS",
        UserAttributes: [
          { Name: "email", Value: user.username },
          { Name: "email_verified", Value: "true" },
        ],
      }),
    );
  }
  // Always (re)set: a developer may have changed the password in an earlier session.
  await client.send(
    new AdminSetUserPasswordCommand({
      UserPoolId: userPoolId,
      Username: user.username,
      Password: user.password,
      Permanent: true,
    }),
  );
  for (const group of user.groups) {
    await client.send(
      new AdminAddUserToGroupCommand({ UserPoolId: userPoolId, Username: user.username, GroupName: group }),
    );
  }
}

/**
 * Makes sure the local pool, its web client, the groups and the demo users exist, reusing what an
 * earlier start created (found by name). Safe to run on every start.
 */
export async function provisionPool(endpoint: string, users: readonly DemoUser[]): Promise<ProvisionedPool> {
  const client = localCognitoClient(endpoint);
  try {
    const userPoolId = await ensurePool(client);
    const clientId = await ensureClient(client, userPoolId);
    for (const group of new Set(users.flatMap((user) => user.groups))) await ensureGroup(client, userPoolId, group);
    for (const user of users) await ensureUser(client, userPoolId, user);
    return { userPoolId, clientId };
  } finally {
    client.destroy();
  }
}
