import { writeFile } from "node:fs/promises";
import { cpus, freemem, totalmem } from "node:os";
import { runAuthBench } from "./auth.bench";
import { runChannelsBench } from "./channels.bench";
import { runConnectBench } from "./connect.bench";
import { runFanoutBench } from "./fanout.bench";
import { runGatewayBench } from "./gateway.bench";
import { type BenchStack, startBenchStack } from "./lib/bench-stack";
import { type BenchResult, formatResults } from "./lib/result";
import { runScaleBench } from "./scale.bench";

// This tool runs on the developer's Node (20 or later; deployed functions use a current Lambda runtime):
// the AWS SDK's notice about its future Node 22 floor is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/**
 * `pnpm bench [auth|gateway|connect|fanout|channels ...] [--json]`: runs the named benchmarks (all by default),
 * prints one table with every figure next to its baseline, and with `--json` writes the figures to
 * bench-results.json. Exits 1 when a target is missed.
 */

const SUITES = ["auth", "gateway", "connect", "fanout", "channels"] as const;
type Suite = (typeof SUITES)[number];
/** Users the stack benches sign in; fan-out gives each of them 100 connections. */
const BENCH_USERS = 10;

function parseArgs(argv: string[]): { suites: Suite[]; json: boolean } {
  const json = argv.includes("--json");
  const names = argv.filter((arg) => !arg.startsWith("--"));
  for (const name of names) {
    if (!(SUITES as readonly string[]).includes(name)) {
      throw new Error(`unknown benchmark "${name}" (choose from ${SUITES.join(", ")})`);
    }
  }
  return { suites: names.length > 0 ? (names as Suite[]) : [...SUITES], json };
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
  return `${cpus().length} CPUs (${cpu}), ${gib(totalmem())} GiB RAM (${gib(freemem())} free), node ${process.version}`;
}

async function main() {
  const { suites, json } = parseArgs(process.argv.slice(2));
  console.log(`# ${new Date().toISOString()} — ${machine()}`);
  const results: BenchResult[] = [];
  const section = (title: string, figures: BenchResult[]) => {
    console.log(`\n## ${title}\n${formatResults(figures)}`);
    results.push(...figures);
  };
  if (suites.includes("auth")) section("auth", await runAuthBench());
  const stackSuites = suites.filter((suite) => suite !== "auth");
  if (stackSuites.length > 0) {
    const env: BenchStack = await startBenchStack(BENCH_USERS);
    try {
      if (stackSuites.includes("gateway")) section("gateway", await runGatewayBench(env));
      if (stackSuites.includes("connect")) section("connect", await runConnectBench(env));
      if (stackSuites.includes("fanout")) section("fan-out", await runFanoutBench(env));
      if (stackSuites.includes("channels")) section("channels", await runChannelsBench(env));
    } finally {
      await env.stop();
    }
  }
  // Its own stack: the handlers' @connections calls go through the emulated round trip.
  if (suites.includes("fanout")) {
    const sizes = process.env.WSAUTH_BENCH_SCALE_SIZES?.split(",").map(Number);
    section("fan-out at scale", await runScaleBench(sizes ? { sizes } : {}));
  }
  if (json) {
    await writeFile("bench-results.json", `${JSON.stringify(results, null, 2)}\n`);
    console.log("\nwrote bench-results.json");
  }
  const missed = results.filter((result) => result.met === false);
  if (missed.length > 0) {
    console.log(`\n${missed.length} target(s) missed: ${missed.map((result) => result.name).join("; ")}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
