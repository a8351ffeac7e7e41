import { JOB_HANDLERS, SWEEP } from "@wsauth/core/constants";
import { handler } from "./functions";
import { api, fanOut } from "./realtime";
import { table } from "./storage";

// API Gateway does not always deliver $disconnect. Every minute the sweeper closes connections whose
// token has expired or that reached the 2 h cap (a row whose connection is already gone answers 410 and
// is deleted) and deletes rows past `expireAt`; between sweeps, a send that meets a 410 prunes the row.
export const sweep = new sst.aws.CronV2("Sweep", {
  schedule: "rate(1 minute)",
  function: handler(JOB_HANDLERS.sweep, [table, api], { timeout: `${SWEEP.timeoutSeconds} seconds` }),
});

// Pushes a message to all live connections of a user on behalf of other backend services, or publishes
// to a channel (queueing fan-out jobs past FANOUT.inlineMax subscribers). It has no URL: callers need
// IAM `lambda:InvokeFunction` on it.
export const notify = new sst.aws.Function("Notify", handler(JOB_HANDLERS.notify, [table, api, fanOut]));
