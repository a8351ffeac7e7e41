import { handlerEnvironment } from "@wsauth/local/stack";

/**
 * Points handler modules at local services exactly the way the local runner does (the same
 * `handlerEnvironment`): linked resources as `SST_RESOURCE_<Name>` JSON, DynamoDB through the SDK's
 * standard endpoint variable, dummy credentials. `Resource` reads these once, on first use, so call
 * this before the first handler runs (test files run in separate processes).
 */
export function setHandlerEnv(config: { tableName: string; dynamoEndpoint: string; managementEndpoint: string }): void {
  const environment = handlerEnvironment({
    tableName: config.tableName,
    webSocketUrl: config.managementEndpoint.replace(/^http/, "ws"),
    managementEndpoint: config.managementEndpoint,
    // Never reached by these tests' tokens (rejected before any key is fetched).
    userPoolId: "local_testpool",
    clientId: "testclient",
    issuer: "http://127.0.0.1:9/local_testpool",
    jwksUri: "http://127.0.0.1:9/local_testpool/.well-known/jwks.json",
    webUrl: "",
    dynamoEndpoint: config.dynamoEndpoint,
  });
  Object.assign(process.env, environment);
}
