import { defineConfig } from "vitest/config";

// One project per part of the product; `pnpm test` runs them all. Tests that start servers listen on
// port 0 (an ephemeral port) so files can run in parallel. The suites that drive a whole stack (browser,
// load, faults) each run in a group of their own after the rest (`sequence.groupOrder`), so they do
// not compete with each other for this machine's two cores.
export default defineConfig({
  test: {
    reporters: ["default", "./test/summary-reporter.ts"],
    // Structured log lines are captured per test (tests assert on the ones they provoke); a passing
    // run prints vitest's output only.
    setupFiles: ["./test/setup/capture-logs.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests and the local stack run on Node 20 (deployed functions run on a current Lambda Node.js
    // runtime); the SDK's notice about its future Node 22 floor is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      // test/core and test/functions hold the suites that run core and the handlers against the local
      // stack's DynamoDB (a package's own tests never import a package that depends on it).
      { extends: true, test: { name: "core", include: ["packages/core/src/**/*.test.ts", "test/core/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "functions", include: ["packages/functions/src/**/*.test.ts", "test/functions/**/*.test.ts"] },
      },
      {
        extends: true,
        test: { name: "local", include: ["packages/local/src/**/*.test.ts"] },
      },
      { extends: true, test: { name: "client", include: ["packages/client/src/**/*.test.ts"] } },
      { extends: true, test: { name: "web", include: ["web/src/**/*.test.ts"] } },
      { extends: true, test: { name: "infra", include: ["test/infra/**/*.test.ts"] } },
      // What `sst deploy` would create (evaluated offline under Pulumi's mocks) against what the code uses.
      { extends: true, test: { name: "deploy", include: ["test/deploy/**/*.test.ts"], testTimeout: 120_000 } },
      // Channels, black-box: raw sockets against a whole local stack.
      { extends: true, test: { name: "channels", include: ["test/channels/**/*.test.ts"] } },
      {
        extends: true,
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], fileParallelism: false, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: {
          name: "load",
          include: ["test/load/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        // The cost model: AWS calls per user-visible operation, counted on the local stack.
        test: {
          name: "cost",
          include: ["test/cost/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          name: "faults",
          include: ["test/faults/**/*.test.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 3 },
        },
      },
      {
        extends: true,
        test: {
          // Builds the deployed site with OpenNext (a production `next build` in web/), so it runs on its
          // own, after the suites that start `next dev` in the same folder.
          name: "site",
          include: ["test/site/**/*.test.ts"],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 20 * 60_000,
          sequence: { groupOrder: 4 },
        },
      },
    ],
  },
});
