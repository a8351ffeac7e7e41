import { JOB_HANDLERS, RESOURCE, REVOCATION, SWEEP } from "@wsauth/core/constants";
import { userPool } from "./auth";
import { handler } from "./functions";
import { api } from "./realtime";
import { table } from "./storage";

// API Gateway does not always deliver $disconnect. Every minute the sweeper closes connections whose
// token has expired or that reached the 2 h cap (a row whose connection is already gone answers 410 and
// is deleted) and deletes rows past `expireAt`; between sweeps, a send that meets a 410 prunes the row.
export const sweep = new sst.aws.CronV2("Sweep", {
  schedule: "rate(1 minute)",
  function: handler(JOB_HANDLERS.sweep, [table, api], { timeout: `${SWEEP.timeoutSeconds} seconds` }),
});

// Pushes a message to all live connections of a user on behalf of other backend services. It has no
// URL: callers need IAM `lambda:InvokeFunction` on it.
export const notify = new sst.aws.Function("Notify", handler(JOB_HANDLERS.notify, [table, api]));

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
