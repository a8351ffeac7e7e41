/// <reference path="./.sst/platform/config.d.ts" />

// Table of contents of the deployed app. Each concern lives in its own file under infra/; shared values
// (names, keys, routes) come from @wsauth/core/constants so the local stack runs the same shape.
// SST forbids top-level value imports here (the file is evaluated before the platform is loaded), so
// everything is imported dynamically; `import type` is erased by the bundler and therefore allowed.
import type { Outputs } from "@wsauth/core/constants";

export default $config({
  async app(input) {
    const { APP_NAME } = await import("@wsauth/core/constants");
    const isProduction = input?.stage === "production";
    return {
      name: APP_NAME,
      home: "aws",
      removal: isProduction ? "retain" : "remove",
      protect: isProduction,
    };
  },
  async run() {
    // App-wide link wiring, before any component is created. A link carries the values handlers read
    // through `Resource` and no IAM grant: a table link gives its name (each function's DynamoDB actions
    // are granted per function, from TABLE_ACTIONS in @wsauth/core/constants), a user pool link its id
    // (nothing deployed calls Cognito's APIs with IAM credentials; tokens are checked against the JWKS).
    sst.Linkable.wrap(sst.aws.Dynamo, (table) => ({ properties: { name: table.name } }));
    sst.Linkable.wrap(sst.aws.CognitoUserPool, (pool) => ({ properties: { id: pool.id } }));

    const { region } = await import("./infra/region");
    const { userPool, webClient } = await import("./infra/auth");
    const { table } = await import("./infra/storage");
    const { api } = await import("./infra/realtime");
    await import("./infra/jobs");
    await import("./infra/revocation");
    const { web } = await import("./infra/web");

    const outputs: Record<keyof Outputs, $util.Input<string>> = {
      region,
      userPoolId: userPool.id,
      userPoolClientId: webClient.id,
      webSocketUrl: api.url,
      managementEndpoint: api.managementEndpoint,
      tableName: table.name,
      webUrl: web.url,
      stage: $app.stage,
    };
    return outputs;
  },
});
