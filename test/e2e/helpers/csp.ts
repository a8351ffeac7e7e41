import type { BrowserContext, Page } from "playwright-core";

/** What a page's `securitypolicyviolation` event said: the directive and the blocked origin or keyword. */
export interface CspViolation {
  directive: string;
  blocked: string;
}

/**
 * Records every Content-Security-Policy violation each page of `context` reports, from its first
 * script on. Only the directive and the blocked URL's origin are kept (a URL could carry a token).
 * A script string, because it runs in the page (this project's TypeScript has no DOM types).
 */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript({
    content: `(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    let blocked = event.blockedURI;
    try { blocked = new URL(event.blockedURI).origin; } catch {}
    window.__cspViolations.push({ directive: event.effectiveDirective, blocked });
  });
})();`,
  });
}

export function cspViolations(page: Page): Promise<CspViolation[]> {
  return page.evaluate(() => (globalThis as { __cspViolations?: CspViolation[] }).__cspViolations ?? []);
}
