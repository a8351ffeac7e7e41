import { type NextRequest, NextResponse } from "next/server";
import { readWebConfig } from "./config";
import { CSP_HEADER, contentSecurityPolicy, createNonce } from "./csp";

/**
 * Every page gets a Content-Security-Policy with a fresh nonce. The policy goes on the request too:
 * Next.js reads the nonce from it and puts it on the scripts it renders (the page is rendered per
 * request, so each response has its own). The origins come from the same configuration the page reads.
 */
export function proxy(request: NextRequest): NextResponse {
  const result = readWebConfig(process.env);
  const policy = contentSecurityPolicy({
    config: result.ok ? result.config : undefined,
    nonce: createNonce(),
    development: process.env.NODE_ENV === "development",
  });
  const headers = new Headers(request.headers);
  headers.set(CSP_HEADER, policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set(CSP_HEADER, policy);
  return response;
}

export const config = {
  // Documents only: static files carry no script of their own, and prefetches are not rendered.
  matcher: [
    {
      source: "/((?!_next/static|_next/image|favicon.ico|icon.svg).*)",
      missing: [
        { type: "header", key: "next-router-prefetch" },
        { type: "header", key: "purpose", value: "prefetch" },
      ],
    },
  ],
};
