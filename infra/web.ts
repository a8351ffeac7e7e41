import { RESOURCE, WEB_ENV } from "@wsauth/core/constants";
import { userPool, webClient } from "./auth";
import { api } from "./realtime";
import { region } from "./region";

// The demo site. Next.js inlines NEXT_PUBLIC_* values into the browser bundle, so only public
// identifiers go here; nothing is linked. Deployed, Amplify talks to Cognito itself with SRP (no
// custom Cognito endpoint).
export const web = new sst.aws.Nextjs(RESOURCE.web, {
  path: "web",
  environment: {
    [WEB_ENV.region]: region,
    [WEB_ENV.userPoolId]: userPool.id,
    [WEB_ENV.userPoolClientId]: webClient.id,
    [WEB_ENV.webSocketUrl]: api.url,
    [WEB_ENV.authFlow]: "USER_SRP_AUTH",
  },
});
