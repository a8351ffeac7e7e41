import { Agent, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  ApiGatewayManagementApiClient,
  type ApiGatewayManagementApiClientConfig,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { DEPENDENCY_TIMEOUTS } from "../constants/index";

/**
 * The `@connections` client the Messenger sends with: still `ApiGatewayManagementApiClient` (SigV4,
 * retries, error types as the SDK defines them), with the per-call work a fan-out repeats thousands of
 * times cut down. A profile of the SDK's defaults shows most of each `PostToConnection`'s CPU outside
 * the request itself: resolving the middleware stack per command, building the user agent and
 * recursion-detection headers, logging hooks, and the generic Node HTTP handler's per-request timers
 * and listeners. This client
 *
 * - caches the resolved middleware stack per command class (the SDK's `cacheMiddleware`);
 * - drops the user-agent, recursion-detection and logger middleware (none changes what is sent to
 *   API Gateway beyond the `User-Agent` and `X-Amzn-Trace-Id` headers);
 * - sends through a small request handler on one keep-alive agent: one request, the body collected
 *   into bytes (the SDK's deserialisers accept bytes), one socket timeout for the whole request.
 *
 * On AWS this CPU is Lambda time, billed per millisecond.
 */

interface LightRequest {
  protocol: string;
  hostname: string;
  port?: number;
  method: string;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

interface LightResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const SKIPPED_MIDDLEWARE = ["getUserAgentMiddleware", "recursionDetectionMiddleware", "loggerMiddleware"];

function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

function pathOf(request: LightRequest): string {
  const query = request.query;
  if (!query || Object.keys(query).length === 0) return request.path;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of [value ?? ""].flat()) search.append(key, item);
  }
  return `${request.path}?${search}`;
}

/**
 * A minimal HTTP handler for the SDK: keep-alive, and one inactivity timeout on the request's socket
 * (it covers connecting too) instead of the generic handler's separate timers.
 */
export function lightRequestHandler(options: { requestTimeoutMs?: number } = {}) {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEPENDENCY_TIMEOUTS.requestTimeoutMs;
  const httpAgent = new Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
  return {
    metadata: { handlerProtocol: "http/1.1" },
    handle(request: LightRequest, handlerOptions: { abortSignal?: AbortSignal } = {}) {
      return new Promise<{ response: LightResponse }>((resolve, reject) => {
        const { abortSignal } = handlerOptions;
        if (abortSignal?.aborted) {
          reject(Object.assign(new Error("Request aborted"), { name: "AbortError" }));
          return;
        }
        const secure = request.protocol === "https:";
        const outgoing = (secure ? httpsRequest : httpRequest)(
          {
            agent: secure ? httpsAgent : httpAgent,
            host: request.hostname,
            ...(request.port ? { port: request.port } : {}),
            method: request.method,
            path: pathOf(request),
            headers: request.headers,
          },
          (incoming) => {
            const chunks: Buffer[] = [];
            incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
            incoming.on("error", reject);
            incoming.on("end", () =>
              resolve({
                response: {
                  statusCode: incoming.statusCode ?? 0,
                  ...(incoming.statusMessage ? { reason: incoming.statusMessage } : {}),
                  headers: flatHeaders(incoming.headers),
                  body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks),
                },
              }),
            );
          },
        );
        outgoing.setTimeout(requestTimeoutMs, () =>
          outgoing.destroy(
            Object.assign(new Error(`the request timed out after ${requestTimeoutMs} ms`), { name: "TimeoutError" }),
          ),
        );
        outgoing.on("error", reject);
        if (abortSignal) {
          abortSignal.addEventListener(
            "abort",
            () => outgoing.destroy(Object.assign(new Error("Request aborted"), { name: "AbortError" })),
            { once: true },
          );
        }
        outgoing.end(request.body);
      });
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** `ApiGatewayManagementApiClient` for `endpoint`, set up for many sends (see above). */
export function createManagementClient(
  config: ApiGatewayManagementApiClientConfig & { endpoint: string },
  timeouts: { requestTimeoutMs?: number } = {},
): ApiGatewayManagementApiClient {
  const client = new ApiGatewayManagementApiClient({
    requestHandler: lightRequestHandler(timeouts),
    cacheMiddleware: true,
    ...config,
  });
  for (const name of SKIPPED_MIDDLEWARE) client.middlewareStack.remove(name);
  return client;
}
