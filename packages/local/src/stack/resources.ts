import { ABUSE_LIMITS_ENV, APP_NAME, JOB_HANDLERS, LOCAL, LOCAL_CREDENTIALS, RESOURCE } from "@wsauth/core/constants";

/** What the handlers need to know about the running stack. */
export interface LinkedValues {
  tableName: string;
  webSocketUrl: string;
  managementEndpoint: string;
  userPoolId: string;
  clientId: string;
  issuer: string;
  jwksUri: string;
  webUrl: string;
  dynamoEndpoint: string;
}

/**
 * The environment of the handlers: the same linked resources `Resource` from "sst" reads on AWS
 * (`SST_RESOURCE_<Name>` JSON, including `App`), the local-only issuer fields on `UserPool`, and
 * the standard AWS SDK variables that point DynamoDB at dynalite and sign with the local credential pair.
 */
export function handlerEnvironment(values: LinkedValues): Record<string, string> {
  const resource = (name: string, value: Record<string, string>) => [`SST_RESOURCE_${name}`, JSON.stringify(value)];
  return Object.fromEntries([
    resource("App", { name: APP_NAME, stage: LOCAL.stage }),
    resource(RESOURCE.table, { name: values.tableName, type: "sst.aws.Dynamo" }),
    resource(RESOURCE.api, {
      url: values.webSocketUrl,
      managementEndpoint: values.managementEndpoint,
      type: "sst.aws.ApiGatewayWebSocket",
    }),
    resource(RESOURCE.userPool, {
      id: values.userPoolId,
      type: "sst.aws.CognitoUserPool",
      localIssuer: values.issuer,
      localJwksUri: values.jwksUri,
    }),
    resource(RESOURCE.webClient, { id: values.clientId, secret: "", type: "sst.aws.CognitoUserPoolClient" }),
    resource(RESOURCE.web, { url: values.webUrl, type: "sst.aws.Nextjs" }),
    // Invoked through the host's local Lambda API (`AWS_ENDPOINT_URL_LAMBDA`), which runs it in the pool.
    resource(RESOURCE.fanOut, { name: `${APP_NAME}-${LOCAL.stage}-${JOB_HANDLERS.fanout}`, type: "sst.aws.Function" }),
    ["AWS_ENDPOINT_URL_DYNAMODB", values.dynamoEndpoint],
    ["AWS_REGION", LOCAL.region],
    ["AWS_DEFAULT_REGION", LOCAL.region],
    // The local credential pair: the gateway's `@connections` API checks the handlers' signatures with it.
    ["AWS_ACCESS_KEY_ID", LOCAL_CREDENTIALS.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", LOCAL_CREDENTIALS.secretAccessKey],
    // A developer's real session must not leak into the emulators' requests.
    ["AWS_SESSION_TOKEN", ""],
    ["AWS_PROFILE", ""],
    // Node 20 is the local runtime; the SDK's notice about its future Node 22 floor would repeat per worker.
    ["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true"],
  ]);
}

/** The abuse limits a stack is started with, as the environment variables the handlers read. */
export function abuseLimitEnvironment(limits: {
  maxConnectionsPerUser?: number;
  messageRatePerSecond?: number;
  messageBurst?: number;
}): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(ABUSE_LIMITS_ENV) as Array<keyof typeof ABUSE_LIMITS_ENV>).flatMap((name) => {
      const value = limits[name];
      return value === undefined ? [] : [[ABUSE_LIMITS_ENV[name], String(value)]];
    }),
  );
}
