import { describe, expect, it } from "vitest";
import { SUBPROTOCOL } from "../constants/index";
import { extractConnectToken, offeredSubprotocol } from "./extract";

const TOKEN = "aaa.bbb.ccc";

describe("extractConnectToken", () => {
  it("reads the idToken query parameter", () => {
    expect(extractConnectToken({ queryStringParameters: { idToken: TOKEN } })).toEqual({
      ok: true,
      token: TOKEN,
      transport: "query",
      subprotocol: undefined,
    });
  });

  it("reads `wsauth.v1, <JWT>` from Sec-WebSocket-Protocol in any header case and answers only the subprotocol", () => {
    const result = extractConnectToken({ headers: { "sec-websocket-protocol": `${SUBPROTOCOL}, ${TOKEN}` } });
    expect(result).toEqual({ ok: true, token: TOKEN, transport: "subprotocol", subprotocol: SUBPROTOCOL });
  });

  it("reads the header from multiValueHeaders when it was sent as two header lines", () => {
    const result = extractConnectToken({ multiValueHeaders: { "Sec-WebSocket-Protocol": [SUBPROTOCOL, TOKEN] } });
    expect(result).toMatchObject({ ok: true, token: TOKEN, transport: "subprotocol" });
  });

  it("takes the token from the query when only the subprotocol name is offered", () => {
    const result = extractConnectToken({
      headers: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
      queryStringParameters: { idToken: TOKEN },
    });
    expect(result).toEqual({ ok: true, token: TOKEN, transport: "query", subprotocol: SUBPROTOCOL });
  });

  it("ignores subprotocols that are not ours", () => {
    expect(extractConnectToken({ headers: { "Sec-WebSocket-Protocol": "chat, superchat" } })).toMatchObject({
      ok: false,
      reason: "token_missing",
      subprotocol: undefined,
    });
  });

  it("prefers multiValueQueryStringParameters and refuses a repeated idToken", () => {
    const result = extractConnectToken({
      queryStringParameters: { idToken: TOKEN },
      multiValueQueryStringParameters: { idToken: [TOKEN, "x.y.z"] },
    });
    expect(result).toMatchObject({ ok: false, reason: "query_param_repeated" });
  });

  it("refuses the subprotocol offered twice", () => {
    expect(
      extractConnectToken({ headers: { "Sec-WebSocket-Protocol": `${SUBPROTOCOL}, ${SUBPROTOCOL}, ${TOKEN}` } }),
    ).toMatchObject({
      ok: false,
      reason: "subprotocol_malformed",
    });
  });

  it("treats a whitespace-only query token as empty", () => {
    expect(extractConnectToken({ queryStringParameters: { idToken: "  " } })).toMatchObject({
      ok: false,
      reason: "token_empty",
    });
  });
});

describe("offeredSubprotocol", () => {
  it("is the subprotocol only when the client offered it", () => {
    expect(offeredSubprotocol({ headers: { "Sec-WebSocket-Protocol": `${SUBPROTOCOL}, ${TOKEN}` } })).toBe(SUBPROTOCOL);
    expect(offeredSubprotocol({ headers: {} })).toBeUndefined();
  });

  it("refuses odd hand-made events as missing or malformed tokens, never by throwing", () => {
    const odd = [
      { headers: { "sec-websocket-protocol": 5 } },
      { headers: { "sec-websocket-protocol": null } },
      { queryStringParameters: { idToken: ["x"] } },
      { queryStringParameters: { idToken: null } },
      { multiValueHeaders: { "Sec-WebSocket-Protocol": [SUBPROTOCOL, 7] } },
      { multiValueQueryStringParameters: { idToken: [null] } },
    ] as unknown as Parameters<typeof extractConnectToken>[0][];
    for (const request of odd)
      expect(extractConnectToken(request)).toMatchObject({ ok: false, reason: "token_missing" });
  });

  it("reads a bare string where API Gateway would send a one-item list", () => {
    const request = {
      multiValueQueryStringParameters: { idToken: TOKEN },
      multiValueHeaders: { "Sec-WebSocket-Protocol": SUBPROTOCOL },
    } as unknown as Parameters<typeof extractConnectToken>[0];
    expect(extractConnectToken(request)).toMatchObject({ ok: true, token: TOKEN, subprotocol: SUBPROTOCOL });
  });
});
