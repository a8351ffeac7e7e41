import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { describe, it } from "vitest";

/**
 * Debian's Chromium, driven by playwright-core: no browser downloads. Flags keep it from phoning
 * home and let it run as root in a container.
 */
export const CHROMIUM_PATH = process.env.WSAUTH_CHROMIUM ?? "/usr/bin/chromium";

export const CHROMIUM_MISSING = `Chromium is not installed at ${CHROMIUM_PATH}. Install it with: apt-get update && apt-get install -y chromium (or point WSAUTH_CHROMIUM at a Chromium binary).`;

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * A browser suite: run when Chromium is installed; without it a failing test in CI (a browser suite
 * that silently runs nothing is no test), and a visible skip on a developer's machine.
 */
export function describeInChromium(name: string, suite: () => void): void {
  if (chromiumInstalled()) {
    describe(name, suite);
  } else if (process.env.CI) {
    describe(name, () => {
      it("needs Chromium", () => {
        throw new Error(CHROMIUM_MISSING);
      });
    });
  } else {
    console.warn(`[e2e] skipped: ${CHROMIUM_MISSING}`);
    describe.skip(`${name} (skipped: ${CHROMIUM_MISSING})`, () => {
      it("needs Chromium", () => {});
    });
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** The Amplify Authenticator's sign-in form. */
export async function signInThroughForm(page: Page, webUrl: string, username: string, password: string): Promise<void> {
  await page.goto(webUrl);
  await page.getByLabel("Email").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** Waits until the page's socket reports `state` (open, reconnecting, closed, ...). */
export async function waitForSocketState(page: Page, state: string, timeout = 60_000): Promise<void> {
  await page.locator(`[data-testid="socket-status"][data-socket-state="${state}"]`).waitFor({ timeout });
}

export async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).textContent()) ?? "";
}

/** A JSON Web Token (three base64url parts, the first two JSON objects). */
export const JWT_PATTERN = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+/;

/**
 * Counts the WebSockets each page of `context` constructs to `urlPrefix` (the gateway; `next dev`
 * has a socket of its own for hot reload), to prove the page opens exactly one per tab. Only counts:
 * nothing about a socket (its URL may carry a token) is kept. A script string, because it runs in
 * the page (this project's TypeScript has no DOM types).
 */
export async function countSocketsOpened(context: BrowserContext, urlPrefix: string): Promise<void> {
  await context.addInitScript({
    content: `(() => {
  const prefix = ${JSON.stringify(urlPrefix)};
  window.__socketsOpened = 0;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).startsWith(prefix)) window.__socketsOpened += 1;
    }
  };
})();`,
  });
}

/** How many WebSockets to the gateway the page has constructed since it loaded (see countSocketsOpened). */
export function socketsOpened(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as { __socketsOpened?: number }).__socketsOpened ?? -1);
}

/**
 * Sums the layout shifts (Layout Instability API) of each page of `context` that no user input
 * just caused, as Core Web Vitals' CLS does; read it with `layoutShift(page)`.
 */
export async function measureLayoutShift(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `(() => {
  window.__layoutShift = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
})();`,
  });
}

export function layoutShift(page: Page): Promise<number> {
  return page.evaluate(() => (globalThis as { __layoutShift?: number }).__layoutShift ?? -1);
}
