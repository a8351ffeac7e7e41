import { defineConfig } from "vitest/config";

// One project per part of the product; `pnpm test` runs them all. Tests that start servers listen on
// port 0 (an ephemeral port) so files can run in parallel.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "core", include: ["packages/core/src/**/*.test.ts"] } },
      { extends: true, test: { name: "functions", include: ["packages/functions/src/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "local", include: ["packages/local/src/**/*.test.ts", "packages/local/test/**/*.test.ts"] },
      },
      { extends: true, test: { name: "web", include: ["web/src/**/*.test.ts"] } },
      { extends: true, test: { name: "infra", include: ["test/infra/**/*.test.ts"] } },
      { extends: true, test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], fileParallelism: false } },
      { extends: true, test: { name: "load", include: ["test/load/**/*.test.ts"], fileParallelism: false } },
      { extends: true, test: { name: "faults", include: ["test/faults/**/*.test.ts"], fileParallelism: false } },
    ],
  },
});
