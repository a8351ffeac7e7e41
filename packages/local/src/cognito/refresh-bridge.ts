import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isAllowedOrigin, refuseForeignHost } from "../loopback/index.js";

/**
 * The public Cognito endpoint of the local stack: a thin HTTP proxy in front of cognito-local.
 *
 * Amplify v6 refreshes tokens with `GetTokensFromRefreshToken`, which cognito-local does not implement.
 * The bridge answers that call by asking cognito-local for `InitiateAuth` with `REFRESH_TOKEN_AUTH`
 * (same tokens, different envelope). It also corrects cognito-local's OpenID discovery document, which
 * names a fixed `localhost:9229` issuer, and after a successful `ConfirmSignUp` marks the user's email
 * as verified, as Cognito does for a pool that verifies email (cognito-local leaves it unverified, so
 * the user's address would never count as their sign-in name). Every other request passes through
 * untouched.
 *
 * It is also the emulator's front door: only loopback `Host` names are served (421 otherwise), and
 * CORS allows the site's origin only (cognito-local itself allows any): a request from any other
 * browser origin is refused with 403, so no other page can sign in with the demo passwords.
 */
export interface RefreshBridge {
  /** `http://127.0.0.1:<port>`: what clients (SDK, Amplify `userPoolEndpoint`) talk to. */
  endpoint: string;
  port: number;
  /** Points the bridge at cognito-local once it runs; until then requests get 503. */
  setUpstream(url: string): void;
  /** The pool whose confirmed sign-ups get `email_verified` (set once the pool is provisioned). */
  setUserPoolId(userPoolId: string): void;
  close(): Promise<void>;
}

const TARGET_PREFIX = "AWSCognitoIdentityProviderService.";
const REFRESH_TARGET = `${TARGET_PREFIX}GetTokensFromRefreshToken`;
const CONFIRM_SIGN_UP_TARGET = `${TARGET_PREFIX}ConfirmSignUp`;
const AMZ_JSON = "application/x-amz-json-1.1";
const MAX_BODY_BYTES = 1024 * 1024;
const HOP_BY_HOP = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "upgrade"]);
/** What the site's SDK may read of an answer (request ids and error types, as Cognito exposes them). */
const CORS_EXPOSED_HEADERS = "x-amzn-requestid, x-amzn-errortype, x-amzn-errormessage, date";
const OPENID_CONFIGURATION = /^\/([^/?]+)\/\.well-known\/openid-configuration(?:\?.*)?$/;

class BadRequest extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, contentType = AMZ_JSON): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequest(413, "InvalidParameterException", "request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Seconds the access token is valid for (`exp - iat`), as Cognito reports in `ExpiresIn`. */
function expiresInSeconds(accessToken: unknown): number | undefined {
  if (typeof accessToken !== "string") return undefined;
  const payload = accessToken.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown; iat?: unknown };
    return typeof claims.exp === "number" && typeof claims.iat === "number" ? claims.exp - claims.iat : undefined;
  } catch {
    return undefined;
  }
}

interface RefreshRequest {
  ClientId?: unknown;
  RefreshToken?: unknown;
  ClientSecret?: unknown;
  DeviceKey?: unknown;
  ClientMetadata?: unknown;
}

/** `GetTokensFromRefreshToken` input -> `InitiateAuth` input (REFRESH_TOKEN_AUTH). */
export function toInitiateAuthRequest(body: RefreshRequest): Record<string, unknown> {
  if (typeof body.ClientId !== "string" || !body.ClientId) {
    throw new BadRequest(400, "InvalidParameterException", "ClientId is required");
  }
  if (typeof body.RefreshToken !== "string" || !body.RefreshToken) {
    throw new BadRequest(400, "InvalidParameterException", "RefreshToken is required");
  }
  const authParameters: Record<string, string> = { REFRESH_TOKEN: body.RefreshToken };
  if (typeof body.DeviceKey === "string" && body.DeviceKey) authParameters.DEVICE_KEY = body.DeviceKey;
  return {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: body.ClientId,
    AuthParameters: authParameters,
    ...(body.ClientMetadata ? { ClientMetadata: body.ClientMetadata } : {}),
  };
}

/** `InitiateAuth` output -> `GetTokensFromRefreshToken` output. No rotation: the refresh token stays the same. */
export function toRefreshResponse(initiateAuthOutput: unknown): Record<string, unknown> {
  const result = (initiateAuthOutput as { AuthenticationResult?: Record<string, unknown> } | null)
    ?.AuthenticationResult;
  if (!result || typeof result.AccessToken !== "string") {
    throw new BadRequest(500, "InternalErrorException", "cognito-local returned no tokens for the refresh token");
  }
  const expiresIn = expiresInSeconds(result.AccessToken);
  return {
    AuthenticationResult: {
      AccessToken: result.AccessToken,
      ...(typeof result.IdToken === "string" ? { IdToken: result.IdToken } : {}),
      TokenType: "Bearer",
      ...(expiresIn !== undefined ? { ExpiresIn: expiresIn } : {}),
    },
  };
}

export async function startRefreshBridge(options: {
  port: number;
  host?: string;
  /** Browser origins allowed to call it (the site's); requests without `Origin` always may. */
  allowedOrigins?: readonly string[];
}): Promise<RefreshBridge> {
  const host = options.host ?? "127.0.0.1";
  const allowedOrigins = new Set((options.allowedOrigins ?? []).map((origin) => origin.toLowerCase()));
  let upstream: string | undefined;
  let userPoolId: string | undefined;
  let endpoint = "";

  /** Cognito verifies the address a sign-up code was mailed to when the code is confirmed. */
  const markEmailVerified = async (origin: string, requestBody: Buffer) => {
    const { Username } = JSON.parse(requestBody.toString("utf8")) as { Username?: unknown };
    if (!userPoolId || typeof Username !== "string") return;
    const call = async (target: string, body: unknown) => {
      const answer = await fetch(origin, {
        method: "POST",
        headers: { "content-type": AMZ_JSON, "x-amz-target": `${TARGET_PREFIX}${target}` },
        body: JSON.stringify(body),
      });
      const text = await answer.text();
      if (!answer.ok) throw new Error(`${target} for a confirmed sign-up failed (${answer.status}): ${text}`);
      return JSON.parse(text) as unknown;
    };
    const user = (await call("AdminGetUser", { UserPoolId: userPoolId, Username })) as {
      UserAttributes?: Array<{ Name?: string; Value?: string }>;
    };
    const email = user.UserAttributes?.find((attribute) => attribute.Name === "email")?.Value;
    if (!email) return;
    // cognito-local only changes `email_verified` together with the address itself.
    await call("AdminUpdateUserAttributes", {
      UserPoolId: userPoolId,
      Username,
      UserAttributes: [
        { Name: "email", Value: email },
        { Name: "email_verified", Value: "true" },
      ],
    });
  };

  const refresh = async (req: IncomingMessage, res: ServerResponse, origin: string) => {
    let input: RefreshRequest;
    try {
      input = JSON.parse((await readBody(req)).toString("utf8")) as RefreshRequest;
    } catch (error) {
      if (error instanceof BadRequest) throw error;
      throw new BadRequest(400, "SerializationException", "request body is not JSON");
    }
    const answer = await fetch(origin, {
      method: "POST",
      headers: { "content-type": AMZ_JSON, "x-amz-target": `${TARGET_PREFIX}InitiateAuth` },
      body: JSON.stringify(toInitiateAuthRequest(input ?? {})),
    });
    const text = await answer.text();
    if (!answer.ok) {
      // Errors have the same shape for both calls ({ __type, message }): hand them over as they are.
      res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? AMZ_JSON });
      res.end(text);
      return;
    }
    sendJson(res, 200, toRefreshResponse(JSON.parse(text)));
  };

  const passThrough = async (req: IncomingMessage, res: ServerResponse, origin: string) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const requestBody = hasBody ? await readBody(req) : undefined;
    const answer = await fetch(`${origin}${req.url ?? "/"}`, {
      method: req.method ?? "GET",
      headers,
      ...(requestBody ? { body: requestBody } : {}),
      redirect: "manual",
    });
    if (answer.ok && requestBody && req.headers["x-amz-target"] === CONFIRM_SIGN_UP_TARGET) {
      await markEmailVerified(origin, requestBody);
    }
    const body = Buffer.from(await answer.arrayBuffer());
    const outHeaders: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      // fetch has already decoded the body; length and encoding are recomputed for what we send.
      // cognito-local's own CORS answer (any origin) is replaced by the bridge's.
      if (!HOP_BY_HOP.has(name) && name !== "content-encoding" && !name.startsWith("access-control-")) {
        outHeaders[name] = value;
      }
    });
    outHeaders["content-length"] = String(body.length);
    res.writeHead(answer.status, outHeaders);
    res.end(body);
  };

  const server = createServer((req, res) => {
    if (refuseForeignHost(req, res)) return;
    const requestOrigin = req.headers.origin;
    if (!isAllowedOrigin(requestOrigin, allowedOrigins)) {
      sendJson(res, 403, { __type: "AccessDeniedException", message: "origin not allowed" });
      return;
    }
    if (requestOrigin) {
      res.setHeader("access-control-allow-origin", requestOrigin);
      res.setHeader("vary", "Origin");
      res.setHeader("access-control-expose-headers", CORS_EXPOSED_HEADERS);
      if (req.method === "OPTIONS") {
        // A preflight from the site: answered here, never by cognito-local.
        res.writeHead(204, {
          "access-control-allow-methods": "GET, POST, OPTIONS",
          "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "content-type",
          "access-control-max-age": "600",
          "content-length": "0",
        });
        res.end();
        return;
      }
    }
    const handle = async () => {
      const origin = upstream;
      if (!origin) throw new BadRequest(503, "ServiceUnavailableException", "the Cognito emulator is starting");
      const discovery = req.method === "GET" ? req.url?.match(OPENID_CONFIGURATION) : null;
      if (discovery?.[1]) {
        const issuer = `${endpoint}/${discovery[1]}`;
        sendJson(
          res,
          200,
          { issuer, jwks_uri: `${issuer}/.well-known/jwks.json`, id_token_signing_alg_values_supported: ["RS256"] },
          "application/json",
        );
        return;
      }
      if (req.method === "POST" && req.headers["x-amz-target"] === REFRESH_TARGET) {
        await refresh(req, res, origin);
        return;
      }
      await passThrough(req, res, origin);
    };
    handle().catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof BadRequest) {
        sendJson(res, error.status, { __type: error.type, message: error.message });
        return;
      }
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : "";
      sendJson(res, 502, { __type: "ServiceUnavailableException", message: `Cognito emulator unreachable: ${reason}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  endpoint = `http://${host}:${port}`;
  return {
    endpoint,
    port,
    setUpstream(url) {
      upstream = url.replace(/\/$/, "");
    },
    setUserPoolId(id) {
      userPoolId = id;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
