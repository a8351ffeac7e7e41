import { REVOCATION, SUBPROTOCOL } from "@wsauth/core/constants";
import { startTestStack, type TestStack } from "@wsauth/local/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket from "ws";
import { describeInChromium, launchChromium, signInThroughForm, waitForSocketState } from "./helpers/browser";
import { openRegistry } from "./helpers/registry";
import { stopStackWithSite } from "./helpers/stack";

/**
 * Sign out everywhere in a real browser against the whole local stack: one user signed in in two
 * browser contexts (two devices); the button in one closes the other's socket, signs both out, and
 * the other device's token no longer connects.
 */

/** The ID token Amplify keeps for the signed-in user of `page` (its local storage). */
function storedIdToken(page: Page): Promise<string> {
  return page.evaluate(`(() => {
    const key = Object.keys(localStorage).find((name) => name.startsWith("CognitoIdentityServiceProvider.") && name.endsWith(".idToken"));
    return key ? localStorage.getItem(key) ?? "" : "";
  })()`) as Promise<string>;
}

/** The HTTP status a connect with `token` is answered with (101 when it is accepted). */
function connectStatus(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, [SUBPROTOCOL, token]);
    socket.once("open", () => {
      socket.close();
      resolve(101);
    });
    socket.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
    socket.once("error", () => resolve(0));
  });
}

describeInChromium("sign out everywhere e2e", () => {
  let stack: TestStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  async function signIn(): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const user = stack.outputs.demoUsers[0];
    if (!user) throw new Error("the stack has no demo user");
    await signInThroughForm(page, stack.outputs.webUrl, user.username, user.password);
    await waitForSocketState(page, "open");
    return page;
  }

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startTestStack({ web: true }), launchChromium()]);
  }, 180_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await stopStackWithSite(stack);
  }, 60_000);

  it("Sign out everywhere in one context closes the other's socket; its old token cannot reconnect", async () => {
    const laptop = await signIn();
    const phone = await signIn();
    const phoneToken = await storedIdToken(phone);
    expect(phoneToken.split(".")).toHaveLength(3);
    expect(await connectStatus(stack.outputs.webSocketUrl, phoneToken)).toBe(101);
    const registry = openRegistry(stack.outputs);
    try {
      const sub = JSON.parse(Buffer.from(phoneToken.split(".")[1] ?? "", "base64url").toString()).sub as string;
      await expect.poll(async () => (await registry.store.listByUser(sub)).length, { timeout: 10_000 }).toBe(2);

      const started = Date.now();
      await laptop.getByRole("button", { name: "Sign out everywhere" }).click();
      // The phone hears `revoked`, its socket is closed by the server, and the tab signs out.
      await phone.getByRole("button", { name: "Sign in", exact: true }).waitFor({ timeout: 10_000 });
      await laptop.getByRole("button", { name: "Sign in", exact: true }).waitFor({ timeout: 10_000 });
      expect(Date.now() - started).toBeLessThan(10_000);
      await expect.poll(async () => (await registry.store.listByUser(sub)).length, { timeout: 10_000 }).toBe(0);

      // The phone's token (signed in before the revocation) is refused, once the authorizer's lookup
      // of this user (cached per container for REVOCATION.lookupCacheMs, the documented bound; the
      // check above made one) has aged out. A new sign-in connects.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + REVOCATION.lookupCacheMs - Date.now())));
      expect([401, 403]).toContain(await connectStatus(stack.outputs.webSocketUrl, phoneToken));
      const again = await signIn();
      await waitForSocketState(again, "open");
    } finally {
      registry.close();
    }
  }, 180_000);
});
