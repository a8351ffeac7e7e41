import { JOB_HANDLERS, RESOURCE, REVOCATION } from "@wsauth/core/constants";
import { userPool } from "./auth";
import { handler } from "./functions";
import { api } from "./realtime";
import { table } from "./storage";

// Revokes a user: refuses every token they signed in for until now and closes their live connections
// (`pnpm ws revoke`, backend services with IAM `lambda:InvokeFunction`). The second look at the user's
// connections (REVOCATION.secondPassMs) runs inside the invocation.
export const revoke = new sst.aws.Function(RESOURCE.revoke, handler(JOB_HANDLERS.revoke, [table, api]));

// Admin actions taken in the Cognito console or API revoke too: CloudTrail records them as "AWS API Call
// via CloudTrail" events on the default event bus (this needs a trail logging the region's management
// events; see the README), and this rule hands those of this user pool to `Revoke`.
const cognitoAdminActions = new aws.cloudwatch.EventRule("CognitoAdminActions", {
  description: "Cognito admin actions that revoke a user's sessions",
  eventPattern: $jsonStringify({
    source: [REVOCATION.cloudTrail.source],
    "detail-type": [REVOCATION.cloudTrail.detailType],
    detail: {
      eventSource: [REVOCATION.cloudTrail.eventSource],
      eventName: [...REVOCATION.cognitoAdminEvents],
      requestParameters: { userPoolId: [userPool.id] },
    },
  }),
});
new aws.cloudwatch.EventTarget("CognitoAdminActionsTarget", { rule: cognitoAdminActions.name, arn: revoke.arn });
new aws.lambda.Permission("CognitoAdminActionsInvoke", {
  action: "lambda:InvokeFunction",
  function: revoke.name,
  principal: "events.amazonaws.com",
  sourceArn: cognitoAdminActions.arn,
});
