import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createSigV4Verifier, hasSigV4Authorization, type SignatureCheck, type SignedRequest } from "../gateway/sigv4";
import { refuseForeignHost } from "../loopback/index";

/**
 * The Lambda `Invoke` API on loopback, for handlers that invoke another function (`broadcast` queues
 * `FanOut` jobs): `AWS_ENDPOINT_URL_LAMBDA` points the handlers' `LambdaClient` here, unchanged.
 * `InvocationType: Event` answers 202 once the event is queued (what AWS answers once the event is in
 * its internal queue); `RequestResponse` answers with the result. Like `@connections`, it answers only
 * loopback `Host` names, and a request must be SigV4-signed with the local credential pair for
 * `lambda` in the local region (403 otherwise, with the error types IAM's refusals carry).
 */

export interface LambdaApi {
  endpoint: string;
  close(): Promise<void>;
}

export interface LambdaApiOptions {
  /** Handler module of a function name (or ARN); undefined when no such function exists. */
  moduleOf(functionName: string): string | undefined;
  /** Queues an asynchronous invocation (at-least-once, retried after a throw). */
  enqueue(module: string, event: unknown): void;
  /** Runs a synchronous invocation. */
  invoke(module: string, event: unknown): Promise<unknown>;
  /** Checks a request's SigV4 signature (default: the local credential pair, `lambda`, the local region). */
  verifySignature?: (request: SignedRequest) => Promise<SignatureCheck>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Largest asynchronous payload Lambda accepts (256 KB). */
export const ASYNC_PAYLOAD_BYTES = 256 * 1024;
const SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

function answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? "" : JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(text);
}

function fail(response: ServerResponse, status: number, type: string, message: string) {
  answer(response, status, { Type: "User", message }, { "x-amzn-errortype": type });
}

async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startLambdaApi(options: LambdaApiOptions): Promise<LambdaApi> {
  const verifySignature =
    options.verifySignature ??
    createSigV4Verifier({ credentials: LOCAL_CREDENTIALS, region: LOCAL.region, service: "lambda" });
  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: Error) => {
      if (!response.headersSent) fail(response, 500, "ServiceException", error.message);
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (refuseForeignHost(request, response)) return;
    const match = INVOKE_PATH.exec(new URL(request.url ?? "/", "http://local").pathname);
    if (request.method !== "POST" || !match) {
      fail(response, 404, "ResourceNotFoundException", "only Invoke is served by the local Lambda API");
      return;
    }
    // Unsigned requests are refused before their body is read; signed ones once it is (it is signed too).
    if (!hasSigV4Authorization(request.headers)) {
      request.resume();
      fail(response, 403, "MissingAuthenticationTokenException", "Missing Authentication Token");
      return;
    }
    const type = String(request.headers["x-amz-invocation-type"] ?? "RequestResponse");
    const body = await readBody(request, type === "Event" ? ASYNC_PAYLOAD_BYTES : SYNC_PAYLOAD_BYTES);
    if (!body) {
      fail(response, 413, "RequestEntityTooLargeException", "request payload is too large");
      return;
    }
    const check = await verifySignature({
      method: request.method ?? "POST",
      url: request.url ?? "/",
      headers: request.headers,
      body: body.length > 0 ? body : undefined,
    });
    if (!check.ok) {
      fail(response, 403, check.errorType, check.message);
      return;
    }
    const name = decodeURIComponent(match[1] ?? "");
    const module = options.moduleOf(name);
    if (!module) {
      fail(response, 404, "ResourceNotFoundException", `Function not found: ${name}`);
      return;
    }
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
    } catch {
      fail(response, 400, "InvalidRequestContentException", "could not parse request body into json");
      return;
    }
    if (type === "DryRun") {
      answer(response, 204, undefined);
    } else if (type === "Event") {
      options.enqueue(module, event);
      answer(response, 202, undefined);
    } else {
      try {
        answer(response, 200, (await options.invoke(module, event)) ?? null);
      } catch (error) {
        const { name: errorType, message } = error as Error;
        answer(response, 200, { errorType, errorMessage: message }, { "x-amz-function-error": "Unhandled" });
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
