import { LOCAL } from "@wsauth/core/constants";

/**
 * Points handler modules at local services the way the local runner does: linked resources as
 * `SST_RESOURCE_<Name>` JSON, DynamoDB through the SDK's standard endpoint variable, dummy
 * credentials. `Resource` reads these once, on first use, so call this before the first handler runs
 * (test files run in separate processes).
 */
export function setHandlerEnv(config: { tableName: string; dynamoEndpoint: string; managementEndpoint: string }): void {
  const resources: Record<string, unknown> = {
    App: { name: "wsauth", stage: LOCAL.stage },
    Connections: { name: config.tableName, type: "sst.aws.Dynamo" },
    Realtime: {
      url: config.managementEndpoint.replace(/^http/, "ws"),
      managementEndpoint: config.managementEndpoint,
      type: "sst.aws.ApiGatewayWebSocket",
    },
    // Never reached by these tests' tokens (rejected before any key is fetched).
    UserPool: {
      id: "local_testpool",
      type: "sst.aws.CognitoUserPool",
      localIssuer: "http://127.0.0.1:9/local_testpool",
      localJwksUri: "http://127.0.0.1:9/local_testpool/.well-known/jwks.json",
    },
    WebClient: { id: "testclient", secret: "", type: "sst.aws.CognitoUserPoolClient" },
  };
  for (const [name, value] of Object.entries(resources)) process.env[`SST_RESOURCE_${name}`] = JSON.stringify(value);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = config.dynamoEndpoint;
  process.env.AWS_REGION = LOCAL.region;
  process.env.AWS_ACCESS_KEY_ID = "local";
  process.env.AWS_SECRET_ACCESS_KEY = "local";
}
