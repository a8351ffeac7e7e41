// Imports an OpenNext server function's handler and invokes it once, as Lambda would, with the event
// given on stdin (JSON); prints `{statusCode, headers, body}` (body decoded) as JSON on stdout.
// Runs in a child process so the function's environment and module state stay out of the test runner.
// Usage: node invoke-server-function.mjs <handler file>  < event.json
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const event = JSON.parse(readFileSync(0, "utf8"));
const { handler } = await import(pathToFileURL(process.argv[2]).href);
const context = {
  functionName: "WebServer",
  awsRequestId: event.requestContext.requestId,
  getRemainingTimeInMillis: () => 20_000,
};
const response = await handler(event, context);
const body = response.isBase64Encoded
  ? Buffer.from(response.body ?? "", "base64").toString("utf8")
  : (response.body ?? "");
process.stdout.write(JSON.stringify({ statusCode: response.statusCode, headers: response.headers ?? {}, body }));
