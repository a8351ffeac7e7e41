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
 * `next dev` allows one server per build directory. The local stack starts the site with `PORT` set,
 * and test suites start several stacks at once on ephemeral ports, so each dev server gets a build
 * directory of its own (inside `.next`, which git and Biome ignore).
 */
export default function config(phase: string): NextConfig {
  const port = process.env.PORT;
  if (phase !== PHASE_DEVELOPMENT_SERVER || !port || !/^\d+$/.test(port)) return nextConfig;
  return { ...nextConfig, distDir: `.next/port-${port}` };
}
