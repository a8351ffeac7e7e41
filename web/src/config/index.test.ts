import { WEB_ENV } from "@wsauth/core/constants";
import { describe, expect, it } from "vitest";
import { readWebConfig } from "./index";

const complete = {
  [WEB_ENV.region]: "us-east-1",
  [WEB_ENV.userPoolId]: "us-east-1_abc",
  [WEB_ENV.userPoolClientId]: "client",
  [WEB_ENV.webSocketUrl]: "wss://example.execute-api.us-east-1.amazonaws.com/production",
};

describe("readWebConfig", () => {
  it("defaults to SRP sign-in without an endpoint override (deployed)", () => {
    expect(readWebConfig(complete)).toEqual({
      ok: true,
      config: {
        region: "us-east-1",
        userPoolId: "us-east-1_abc",
        userPoolClientId: "client",
        webSocketUrl: "wss://example.execute-api.us-east-1.amazonaws.com/production",
        authFlow: "USER_SRP_AUTH",
      },
    });
  });

  it("takes the local emulator endpoint and password flow", () => {
    const result = readWebConfig({
      ...complete,
      [WEB_ENV.cognitoEndpoint]: "http://127.0.0.1:9229",
      [WEB_ENV.authFlow]: "USER_PASSWORD_AUTH",
    });
    expect(result).toMatchObject({
      ok: true,
      config: { cognitoEndpoint: "http://127.0.0.1:9229", authFlow: "USER_PASSWORD_AUTH" },
    });
  });

  it("refuses the password flow without the local emulator: deployed app clients take no password", () => {
    const result = readWebConfig({ ...complete, [WEB_ENV.authFlow]: "USER_PASSWORD_AUTH" });
    expect(result).toEqual({
      ok: false,
      problems: [
        `${WEB_ENV.authFlow}=USER_PASSWORD_AUTH is for the local Cognito emulator (${WEB_ENV.cognitoEndpoint}); deployed app clients sign in with USER_SRP_AUTH.`,
      ],
    });
  });

  it("names every missing or malformed variable", () => {
    const result = readWebConfig({
      [WEB_ENV.webSocketUrl]: "http://not-a-socket",
      [WEB_ENV.authFlow]: "CUSTOM",
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      `${WEB_ENV.region} is not set.`,
      `${WEB_ENV.userPoolId} is not set.`,
      `${WEB_ENV.userPoolClientId} is not set.`,
      `${WEB_ENV.webSocketUrl} must be a ws:// or wss:// URL (it is "http://not-a-socket").`,
      `${WEB_ENV.authFlow} must be one of USER_SRP_AUTH, USER_PASSWORD_AUTH (it is "CUSTOM").`,
    ]);
  });
});
