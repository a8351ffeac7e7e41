import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NextConfig } from "next";
import { PHASE_DEVELOPMENT_SERVER } from "next/constants";

/** The workspace root: the site imports `@wsauth/core` from it, and builds trace files up to it. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const nextConfig: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The floating dev badge would cover the page in end-to-end screenshots.
  devIndicators: false,
  transpilePackages: ["@wsauth/core", "@wsauth/client"],
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "no-referrer" },
          { key: "X-Frame-Options", value: "DENY" },
        ],
      },
    ];
  },
};

/**
 * `next dev` allows one server per build directory. The local stack starts the site with
 * `WSAUTH_WEB_PORT` set to the site's public port (`next dev` itself listens on a private port behind
 * a loopback-only proxy, and sets `PORT` to that), and test suites start several stacks at once on
 * ephemeral ports, so each site gets a build directory of its own (inside `.next`, which git and Biome
 * ignore), the same one every time it runs on the same port.
 */
export default function config(phase: string): NextConfig {
  const port = process.env.WSAUTH_WEB_PORT || process.env.PORT;
  if (phase !== PHASE_DEVELOPMENT_SERVER || !port || !/^\d+$/.test(port)) return nextConfig;
  return { ...nextConfig, distDir: `.next/port-${port}` };
}
