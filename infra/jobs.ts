import { handler } from "./functions";
import { api } from "./realtime";
import { table } from "./storage";

// API Gateway does not always deliver $disconnect; the sweeper removes registry rows whose connection
// is gone (checked through @connections) or past the 2 h lifetime cap.
export const sweep = new sst.aws.CronV2("Sweep", {
  schedule: "rate(1 minute)",
  function: handler("sweep", [table, api]),
});

// Pushes a message to all live connections of a user on behalf of other backend services. It has no
// URL: callers need IAM `lambda:InvokeFunction` on it.
export const notify = new sst.aws.Function("Notify", handler("notify", [table, api]));
