import type { Gateway } from "@wsauth/local/gateway";
import { startTestStack, type TestStack } from "@wsauth/local/testing";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pnpmWs } from "../helpers/pnpm-ws";
import { describeInChromium, launchChromium, signInThroughForm, waitForSocketState } from "./helpers/browser";
import { restartGateway, stopStackWithSite } from "./helpers/stack";

/**
 * Channels in a real browser against the whole local stack: the Room panel (presence/lobby) and the
 * Notifications panel (user/<sub>), both on `@wsauth/client`.
 */

describeInChromium("channels e2e", () => {
  let stack: TestStack;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let restartedGateway: Gateway | undefined;

  const demoUser = (index: number) => {
    const user = stack.outputs.demoUsers[index];
    if (!user) throw new Error(`the stack has no demo user #${index}`);
    return user;
  };
  async function signIn(index: number): Promise<Page> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const { username, password } = demoUser(index);
    await signInThroughForm(page, stack.outputs.webUrl, username, password);
    await waitForSocketState(page, "open");
    return page;
  }
  const members = (page: Page) => page.getByTestId("room-members").locator("li").allTextContents();
  const chat = (page: Page) => page.getByTestId("room-chat").locator("li").allTextContents();

  beforeAll(async () => {
    [stack, browser] = await Promise.all([startTestStack({ web: true }), launchChromium()]);
  }, 180_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await restartedGateway?.close();
    await stopStackWithSite(stack);
  }, 60_000);

  it("lists the demo logins on the local sign-in page", async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(stack.outputs.webUrl);
    const logins = page.getByTestId("demo-logins");
    await logins.waitFor({ timeout: 60_000 });
    for (const { username, password } of stack.outputs.demoUsers) {
      expect(await logins.textContent()).toContain(`${username} / ${password}`);
    }
  }, 90_000);

  it("two users in the room see each other join and leave", async () => {
    const [alice, bob] = [demoUser(0).username, demoUser(1).username];
    const alicePage = await signIn(0);
    await expect.poll(() => members(alicePage), { timeout: 30_000 }).toEqual([alice]);
    let bobPage = await signIn(1);
    await expect.poll(() => members(alicePage), { timeout: 30_000 }).toEqual([alice, bob]); // bob joined
    await expect.poll(() => members(bobPage), { timeout: 30_000 }).toEqual(expect.arrayContaining([alice, bob]));

    await bobPage.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect.poll(() => members(alicePage), { timeout: 30_000 }).toEqual([alice]); // bob left
    await bobPage.context().close();

    bobPage = await signIn(1);
    await expect.poll(() => members(bobPage), { timeout: 30_000 }).toHaveLength(2);
    await alicePage.getByRole("button", { name: "Sign out", exact: true }).click();
    await expect.poll(() => members(bobPage), { timeout: 30_000 }).toEqual([bob]); // alice left
    const aliceAgain = await signIn(0);
    await expect.poll(() => members(bobPage), { timeout: 30_000 }).toEqual([bob, alice]); // alice joined
    await expect.poll(() => members(aliceAgain), { timeout: 30_000 }).toHaveLength(2);
  }, 180_000);

  it("a message published while the socket is cut arrives after the reconnect, once and in order", async () => {
    const page = await signIn(0);
    const say = async (text: string) => {
      await page.getByLabel("Say something to the room").fill(text);
      await page.getByRole("button", { name: "Send to room" }).click();
      await expect.poll(() => chat(page), { timeout: 30_000 }).toContain(`${demoUser(0).username}: ${text}`);
    };
    await say("before the cut");
    restartedGateway = await restartGateway(stack, stack.gateway, async () => {
      await waitForSocketState(page, "reconnecting");
      // Published while this tab's socket is down (fan-out cannot reach it; history keeps them).
      for (const n of [1, 2, 3]) {
        const published = await pnpmWs(
          stack.stateDir,
          "publish",
          "presence/lobby",
          JSON.stringify({ text: `missed ${n}` }),
        );
        expect(JSON.parse(published.out)).toMatchObject({ channel: "presence/lobby" });
      }
    });
    await waitForSocketState(page, "open", 90_000);
    await expect
      .poll(async () => (await chat(page)).filter((line) => line.includes("missed")), { timeout: 30_000 })
      .toEqual(["system: missed 1", "system: missed 2", "system: missed 3"]);
    await say("after the reconnect");
    const lines = await chat(page);
    expect(lines.filter((line) => line.endsWith("before the cut"))).toHaveLength(1);
    expect(lines.slice(-4)).toEqual([
      "system: missed 1",
      "system: missed 2",
      "system: missed 3",
      `${demoUser(0).username}: after the reconnect`,
    ]);
    const seqs = await page
      .getByTestId("room-chat")
      .locator("li")
      .evaluateAll((items) => items.map((item) => Number(item.getAttribute("data-seq"))));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  }, 180_000);

  it("pnpm ws publish user/<sub> arrives in that user's tab", async () => {
    const page = await signIn(1);
    const channel = (await page.getByTestId("inbox-channel").textContent()) ?? "";
    expect(channel).toMatch(/^user\/[\w-]+$/);
    // The panel subscribes once the socket is open; give the subscribe a moment to land.
    await expect
      .poll(
        async () => {
          const published = await pnpmWs(stack.stateDir, "publish", channel, '{"hello":"from the CLI"}');
          return (JSON.parse(published.out) as { delivered: number }).delivered;
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBeGreaterThan(0);
    await expect
      .poll(() => page.getByTestId("notifications").textContent(), { timeout: 30_000 })
      .toContain('{"hello":"from the CLI"}');
  }, 120_000);
});
