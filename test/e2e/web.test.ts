import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Gateway } from "@wsauth/local/gateway";
import type { Reporter } from "@wsauth/local/runner";
import { httpRequest, startTestStack, type TestStack } from "@wsauth/local/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  countSocketsOpened,
  describeInChromium,
  JWT_PATTERN,
  launchChromium,
  layoutShift,
  measureLayoutShift,
  signInThroughForm,
  socketsOpened,
  textOf,
  waitForSocketState,
} from "./helpers/browser";
import { cspViolations, recordCspViolations } from "./helpers/csp";
import { openRegistry } from "./helpers/registry";
import { restartGateway, stopStackWithSite } from "./helpers/stack";

/**
 * The site in a real browser against the whole local stack: Cognito emulator, DynamoDB, the gateway
 * running the real handlers, and `next dev`. Tests run in order and share the stack and signed-in pages.
 */

const ARTIFACTS = join(import.meta.dirname, "../../test-artifacts");
describeInChromium("web e2e", () => {
  let stack: TestStack;
  let browser: Browser;
  let registry: ReturnType<typeof openRegistry>;
  const contexts: BrowserContext[] = [];
  let alice: Page;
  let aliceSecondTab: Page;
  let bob: Page;
  let newUser: Page;
  /** The gateway started by the restart test, if it ran; the stack only knows its original one. */
  let restartedGateway: Gateway | undefined;
  /** Sign-up codes the Cognito emulator "sent", by email, as the stack reports them. */
  const confirmationCodes = new Map<string, string>();
  /** Everything any page wrote to its console: checked for tokens at the end. */
  const consoleLines: string[] = [];
  const reporter: Reporter = {
    info: (line) => {
      const match = /^confirmation code for (\S+): (\S+)$/.exec(line);
      if (match?.[1] && match[2]) confirmationCodes.set(match[1], match[2]);
    },
    warn: (line) => process.stderr.write(`[stack] warning: ${line}\n`),
    error: (line) => process.stderr.write(`[stack] error: ${line}\n`),
  };

  const demoUser = (index: number) => {
    const user = stack.outputs.demoUsers[index];
    if (!user) throw new Error(`the stack has no demo user #${index}`);
    return user;
  };
  const newContext = async () => {
    const context = await browser.newContext();
    context.on("console", (message) => consoleLines.push(message.text()));
    await countSocketsOpened(context, stack.outputs.webSocketUrl);
    await measureLayoutShift(context);
    await recordCspViolations(context);
    contexts.push(context);
    return context;
  };
  /** Registry rows of the user signed in on `page` (their user id is on the identity panel). */
  const rowsOf = async (page: Page) => {
    const userId = await page.locator('[data-field="userId"]').textContent();
    if (!userId || userId === "—") throw new Error("the page shows no user id yet");
    return registry.store.listByUser(userId);
  };

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startTestStack({ web: true, reporter }), launchChromium()]);
    registry = openRegistry(stack.outputs);
    await mkdir(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await restartedGateway?.close();
    registry?.close();
    await stopStackWithSite(stack);
  }, 60_000);

  it("signs in a demo user and opens the socket with the subprotocol transport", async () => {
    const { username, password } = demoUser(0);
    alice = await (await newContext()).newPage();
    await signInThroughForm(alice, stack.outputs.webUrl, username, password);
    await waitForSocketState(alice, "open");
    // React StrictMode (on in `next dev`) runs effects twice: still exactly one socket was ever opened.
    expect(await socketsOpened(alice)).toBe(1);
    expect(await textOf(alice, "socket-status")).toContain("subprotocol");
    expect(await textOf(alice, "signed-in-as")).toBe(username);
    // whoami runs on open; the identity panel shows the server's view of this connection.
    await expect.poll(() => alice.locator('[data-field="username"]').textContent(), { timeout: 30_000 }).toBe(username);
    expect(await alice.locator('[data-field="transport"]').textContent()).toBe("subprotocol");
    const rows = await rowsOf(alice);
    expect(rows.map((row) => row.transport)).toEqual(["subprotocol"]);
    await alice.screenshot({ path: join(ARTIFACTS, "signed-in.png"), fullPage: true });
  }, 90_000);

  it("is served for loopback host names only (no DNS rebinding onto the site)", async () => {
    const statusFor = async (host: string) => (await httpRequest(stack.outputs.webUrl, { headers: { host } })).status;
    expect(await statusFor("rebound.example")).toBe(421);
    expect(await statusFor(`localhost:${new URL(stack.outputs.webUrl).port}`)).toBe(200);
  });

  it("echoes a message round trip", async () => {
    await alice.getByLabel("Text or JSON to echo").fill('{"greeting":"hello from the browser"}');
    await alice.getByRole("button", { name: "Send echo" }).click();
    await expect
      .poll(() => textOf(alice, "echo-result"), { timeout: 30_000 })
      .toBe('Echoed: {"greeting":"hello from the browser"}');
  });

  it("delivers a direct message to every tab of the recipient", async () => {
    const recipient = demoUser(0).username;
    aliceSecondTab = await alice.context().newPage();
    await aliceSecondTab.goto(stack.outputs.webUrl);
    await waitForSocketState(aliceSecondTab, "open");
    await expect.poll(async () => (await rowsOf(alice)).length, { timeout: 30_000 }).toBe(2);

    const sender = demoUser(1);
    bob = await (await newContext()).newPage();
    await signInThroughForm(bob, stack.outputs.webUrl, sender.username, sender.password);
    await waitForSocketState(bob, "open");
    await bob.getByLabel("Recipient (the email they sign in with)").fill(recipient);
    await bob.getByLabel("Message", { exact: true }).fill("hi alice, it is bob");
    await bob.getByRole("button", { name: "Send message" }).click();

    for (const tab of [alice, aliceSecondTab]) {
      await expect.poll(() => textOf(tab, "inbox"), { timeout: 30_000 }).toContain("hi alice, it is bob");
      expect(await textOf(tab, "inbox")).toContain(`From ${sender.username}`);
    }
    // The sender's receipt counts the recipient's live connections: both of Alice's tabs.
    await expect
      .poll(() => textOf(bob, "send-outcome"), { timeout: 30_000 })
      .toBe(`Delivered to 2 live connections of ${recipient}.`);
    await bob.screenshot({ path: join(ARTIFACTS, "direct-message.png"), fullPage: true });
  }, 120_000);

  it("reports an undeliverable recipient in words, without saying whether the account exists", async () => {
    await bob.getByLabel("Recipient (the email they sign in with)").fill("nobody@example.com");
    await bob.getByLabel("Message", { exact: true }).fill("anyone there?");
    await bob.getByRole("button", { name: "Send message" }).click();
    await expect
      .poll(() => textOf(bob, "send-outcome"), { timeout: 30_000 })
      .toBe("Not delivered: nobody@example.com has no live connection.");
  });

  it("reconnects by itself after the gateway is killed and restarted", async () => {
    restartedGateway = await restartGateway(stack, stack.gateway, async () => {
      await waitForSocketState(alice, "reconnecting");
      expect(await textOf(alice, "socket-status")).toMatch(/Reconnecting in \d+ s/);
    });
    for (const page of [alice, aliceSecondTab, bob]) await waitForSocketState(page, "open", 90_000);
    await alice.getByRole("button", { name: "Ask the server" }).click();
    await expect.poll(async () => (await rowsOf(alice)).length, { timeout: 30_000 }).toBe(2);
  }, 180_000);

  it("signing out closes the socket and its registry row disappears", async () => {
    const userId = (await bob.locator('[data-field="userId"]').textContent()) ?? "";
    await expect.poll(async () => (await registry.store.listByUser(userId)).length, { timeout: 30_000 }).toBe(1);
    await bob.getByRole("button", { name: "Sign out", exact: true }).click();
    await bob.getByRole("button", { name: "Sign in", exact: true }).waitFor();
    await expect.poll(async () => (await registry.store.listByUser(userId)).length, { timeout: 30_000 }).toBe(0);
  }, 90_000);

  it("shows an error for a wrong password and stays signed out", async () => {
    const page = await (await newContext()).newPage();
    await signInThroughForm(page, stack.outputs.webUrl, demoUser(0).username, "not-the-password-1A!");
    // Scoped to the Authenticator: Next.js keeps an (empty) route announcer with role "alert".
    const alert = page.locator("[data-amplify-authenticator]").getByRole("alert");
    await alert.waitFor();
    expect((await alert.textContent())?.trim()).toMatch(/\w+/);
    expect(await page.getByTestId("socket-status").count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, "sign-in-error.png"), fullPage: true });
  });

  it("signs up a new user, confirms the emailed code and lands signed in with one open socket", async () => {
    const email = `new-user-${Date.now()}@example.com`;
    const password = "Signup-Local-Test-9!";
    const page = await (await newContext()).newPage();
    await page.goto(stack.outputs.webUrl);
    await page.getByRole("tab", { name: "Create Account" }).click();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByLabel("Confirm Password").fill(password);
    await page.getByRole("button", { name: "Create Account" }).click();

    // The emulator "emails" the code; the stack reports it as a line, which is how people read it locally.
    await page.getByLabel("Confirmation Code").waitFor();
    await expect.poll(() => confirmationCodes.get(email), { timeout: 30_000 }).toMatch(/^\w+$/);
    const code = confirmationCodes.get(email) ?? "";

    // A wrong code first: the Cognito error appears in words and the form stays.
    await page.getByLabel("Confirmation Code").fill(code === "000000" ? "111111" : "000000");
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    const alert = page.locator("[data-amplify-authenticator]").getByRole("alert");
    await alert.waitFor();
    expect((await alert.textContent())?.trim()).toMatch(/code/i);

    await page.getByLabel("Confirmation Code").fill(code);
    await page.getByRole("button", { name: "Confirm", exact: true }).click();
    // Auto sign-in after confirmation (with the password flow locally), then the socket opens. The
    // confirmed address counts as verified (as on Cognito), so no "verify your email" step comes first.
    await waitForSocketState(page, "open");
    expect(await textOf(page, "signed-in-as")).toBe(email);
    await expect.poll(() => page.locator('[data-field="username"]').textContent(), { timeout: 30_000 }).toBe(email);
    expect(await socketsOpened(page)).toBe(1);
    const rows = await rowsOf(page);
    expect(rows.map((row) => row.transport)).toEqual(["subprotocol"]);
    newUser = page;
    await page.screenshot({ path: join(ARTIFACTS, "signed-up.png"), fullPage: true });
  }, 120_000);

  it("falls back to the query-string transport and replaces the socket", async () => {
    const page = newUser;
    await page.getByLabel("Send the token as").selectOption("query");
    await expect.poll(() => textOf(page, "socket-status"), { timeout: 30_000 }).toContain("query parameter");
    await expect.poll(() => page.locator('[data-field="transport"]').textContent(), { timeout: 30_000 }).toBe("query");
    await expect
      .poll(async () => (await rowsOf(page)).map((row) => row.transport), { timeout: 30_000 })
      .toEqual(["query"]);
    expect(await socketsOpened(page)).toBe(2);
  }, 60_000);

  it("refuses a broadcast from a non-admin in words, and delivers an admin's", async () => {
    await newUser.getByLabel("Message to everyone signed in").fill("hello everyone");
    await newUser.getByRole("button", { name: "Broadcast", exact: true }).click();
    await expect
      .poll(() => textOf(newUser, "broadcast-outcome"), { timeout: 30_000 })
      .toBe("Not broadcast: only members of admins may broadcast (forbidden)");

    // Alice is in the admins group: her broadcast reaches the new user and comes back to her.
    await alice.getByLabel("Message to everyone signed in").fill("maintenance at noon");
    await alice.getByRole("button", { name: "Broadcast", exact: true }).click();
    await expect
      .poll(() => textOf(alice, "broadcast-outcome"), { timeout: 30_000 })
      .toBe("Broadcast delivered: it arrived here too.");
    await expect.poll(() => textOf(newUser, "inbox"), { timeout: 30_000 }).toContain("maintenance at noon");
    expect(await textOf(newUser, "inbox")).toContain(`Broadcast from ${demoUser(0).username}`);
    await newUser.screenshot({ path: join(ARTIFACTS, "broadcast-refused.png"), fullPage: true });
  }, 60_000);

  it("moves keyboard focus through the controls in reading order, with a visible ring", async () => {
    const page = newUser;
    await page.getByRole("button", { name: "Sign out", exact: true }).focus();
    const reached: string[] = [];
    for (let step = 0; step < 14; step += 1) {
      // A string, evaluated in the page: names the focused control by its label or its text.
      const name = await page.evaluate(`(() => {
          const el = document.activeElement;
          if (!el || !["BUTTON", "INPUT", "SELECT", "TEXTAREA"].includes(el.tagName)) return "";
          const label = el.id ? document.querySelector('label[for="' + el.id + '"]') : null;
          return ((label ?? el).textContent ?? "").trim();
        })()`);
      if (typeof name === "string" && name && !reached.includes(name)) reached.push(name);
      await page.keyboard.press("Tab");
    }
    // Disabled buttons (nothing typed yet) are skipped, as they should be.
    expect(reached).toEqual([
      "Sign out",
      "Sign out everywhere",
      "Send the token as",
      "Ask the server",
      "Text or JSON to echo",
      "Send echo",
      "Recipient (the email they sign in with)",
      "Message",
      "Message to everyone signed in",
      "Say something to the room",
      "Clear",
    ]);
    await page.getByRole("button", { name: "Send echo" }).focus();
    await page.screenshot({ path: join(ARTIFACTS, "focus-ring.png") });
  });

  it("does not shift its layout as answers arrive", async () => {
    // Sign-up, confirmation, sign-in, the socket opening, a transport switch, a refused and a
    // received broadcast: together below 0.1, the "good" cumulative layout shift of Web Vitals.
    const shift = await layoutShift(newUser);
    expect(shift).toBeGreaterThanOrEqual(0);
    expect(shift).toBeLessThan(0.1);
  });

  it("never shows or logs a token", async () => {
    const pages = contexts.flatMap((context) => context.pages());
    expect(pages.length).toBeGreaterThan(0);
    for (const page of pages) {
      expect(await page.content()).not.toMatch(JWT_PATTERN);
    }
    expect(consoleLines.filter((line) => JWT_PATTERN.test(line))).toEqual([]);
  });

  it("runs all of the above under the site's Content-Security-Policy without a violation", async () => {
    // Each page's record starts at its last navigation (test/e2e/csp.test.ts covers the policy itself).
    for (const page of contexts.flatMap((context) => context.pages())) expect(await cspViolations(page)).toEqual([]);
  });
});
