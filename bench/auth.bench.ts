import { execFileSync } from "node:child_process";
import { constants as cryptoConstants, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  authorizeConnect,
  createRevocationLookup,
  createTokenVerifier,
  JwksFetcher,
  type RevocationLookup,
  type TokenVerifier,
} from "@wsauth/core/auth";
import { LOCAL, LOCAL_CREDENTIALS } from "@wsauth/core/constants";
import { createLog } from "@wsauth/core/logging";
import {
  base64UrlJson,
  buildConnectAuthorizerEvent,
  generateSigningKey,
  type JwksServer,
  type SigningKey,
  signIdToken,
  startJwksServer,
} from "@wsauth/core/testing";
import { createConnectionsTable, type LocalDynamo, localDynamoClient, startDynamo } from "@wsauth/local/dynamo";
import { JwtVerifier } from "aws-jwt-verify";
import { SimpleJwksCache } from "aws-jwt-verify/jwk";
import { build } from "esbuild";
import { startTcpRelay, type TcpRelay } from "../test/helpers/tcp-relay";
import { type FigureSpec, interleavedOpsPerSecond } from "./lib/measure";
import { type BenchResult, formatResults } from "./lib/result";

/**
 * `pnpm bench:auth`: throughput of the `$connect` authorizer against its limits, from one run on the
 * same tokens, plus the bundled authorizer's size and module init time.
 *
 * Notes on method: every figure runs sequentially (one Lambda container handles one request at a
 * time), in interleaved slices (best slice kept, order rotated every round) so the machine's
 * changing load hits all alike. Baselines and the authorizer see the same tokens in the same order.
 * "distinct valid" uses one warm verifier (JWKS loaded) whose token cache is smaller than the token
 * set, so every request is a cache miss and every insert evicts: a busy container's steady state.
 * The authorizer logs through the production logger at the production level (info): every line is
 * built, redacted and serialised exactly as in production; only the final write to stdout/stderr is
 * discarded while measuring, so terminal I/O does not drown the figure.
 * The seed pattern fetches the JWKS from a real HTTP server on loopback in this process (keep-alive,
 * no TLS, no network latency): far faster than a Lambda fetching Cognito's JWKS, so the figure is
 * generous to the seed; the server's own request handling (about a sixth of a seed call in a CPU
 * profile) runs on the same thread. Being I/O-bound, it varies with machine load more than the rest.
 * It is measured twice: straight over loopback, and through a TCP relay that holds each request for
 * JWKS_RTT_MS, an emulated round trip still shorter than any HTTPS request from a Lambda function to
 * Cognito's JWKS endpoint. The authorizer is not affected by that latency (it never fetches per call).
 */

const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
const AUTHORIZER_ENTRY = join(ROOT, "packages/functions/src/authorizer.ts");
const POOL_ID = "local_BenchPool";
const CLIENT_ID = "bench-client";
const DISTINCT_TOKENS = 800;
/** Emulated round trip to the JWKS endpoint for the second seed figure. */
const JWKS_RTT_MS = 1;
/**
 * Each figure is measured in ROUNDS slices of SLICE_MS, interleaved; the best slice counts. Many short
 * rounds give every figure a chance at a quiet moment on a shared machine (tried on this 2-core box:
 * the best slice gave steadier ratios from run to run than the median or upper quantiles).
 */
const ROUNDS = 24;
const SLICE_MS = 80;

/** The authorizer's production logger at the production level. */
const authorizerLog = createLog("authorizer", { level: "info" });

/** Runs `work` with stdout/stderr writes discarded (log lines are still fully built), then restores them. */
async function withOutputDiscarded<T>(work: () => Promise<T>): Promise<T> {
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const discard = (() => true) as typeof process.stdout.write;
  process.stdout.write = discard;
  process.stderr.write = discard;
  try {
    return await work();
  } finally {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
  }
}

interface Fixture {
  key: SigningKey;
  jwks: JwksServer;
  /** The JWKS server behind an emulated round trip of JWKS_RTT_MS. */
  distantJwks: TcpRelay;
  valid: string[];
  flood: string[];
  snapshot: string;
  /** The local DynamoDB the revocation lookups read (a real signed GetItem over HTTP on loopback). */
  dynamo: LocalDynamo;
  tableName: string;
}

async function prepare(): Promise<Fixture> {
  const key = generateSigningKey("bench-key");
  const jwks = await startJwksServer(POOL_ID, [key]);
  const jwksUrl = new URL(jwks.jwksUri);
  const distantJwks = await startTcpRelay(
    { host: jwksUrl.hostname, port: Number(jwksUrl.port) },
    { delayMs: JWKS_RTT_MS },
  );
  const options = { issuer: jwks.issuer, clientId: CLIENT_ID };
  const valid = Array.from({ length: DISTINCT_TOKENS }, (_, index) =>
    signIdToken(key, { ...options, sub: `user-${index}`, email: `user${index}@example.com` }),
  );
  const expired = Array.from({ length: 100 }, (_, index) =>
    signIdToken(key, { ...options, sub: `late-${index}`, expiresIn: -60 - index }),
  );
  const forgedShapes = Array.from({ length: 100 }, (_, index) => [
    `garbage-${index}`,
    `${base64UrlJson({ alg: "none", kid: "bench-key" })}.${base64UrlJson({ sub: `x${index}` })}.`,
    `${base64UrlJson({ alg: "HS256", kid: "bench-key" })}.${base64UrlJson({ sub: `x${index}` })}.c2lnbmF0dXJl`,
    signIdToken(key, { issuer: "http://127.0.0.1:1/another_pool", clientId: CLIENT_ID, sub: `other-${index}` }),
  ]).flat();
  const dynamo = await startDynamo({ port: 0 });
  const tableName = "bench-connections";
  await createConnectionsTable(localDynamoClient(dynamo.endpoint), tableName);
  return {
    key,
    jwks,
    distantJwks,
    valid,
    flood: [...expired, ...forgedShapes],
    snapshot: JSON.stringify({ keys: [key.publicJwk] }),
    dynamo,
    tableName,
  };
}

/** The authorizer's revocation lookup against the bench's local DynamoDB. */
function benchRevocationLookup(fixture: Fixture, cacheMs?: number): RevocationLookup {
  return createRevocationLookup({
    tableName: fixture.tableName,
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: fixture.dynamo.endpoint,
      AWS_REGION: LOCAL.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
    ...(cacheMs !== undefined ? { cacheMs } : {}),
  });
}

function rawCryptoVerifier(publicKey: KeyObject): (token: string) => boolean {
  return (token) => {
    const lastDot = token.lastIndexOf(".");
    return cryptoVerify(
      "sha256",
      Buffer.from(token.slice(0, lastDot)),
      { key: publicKey, padding: cryptoConstants.RSA_PKCS1_PADDING },
      Buffer.from(token.slice(lastDot + 1), "base64url"),
    );
  };
}

/**
 * The premise of "distinct valid": cycling in order through tokens with a cache of half their number
 * (the harness keeps each figure's position across slices), no request is ever served from the cache.
 */
async function assertEveryRequestMisses(verifier: TokenVerifier, tokens: readonly string[]): Promise<void> {
  for (let pass = 0; pass < 3; pass += 1) {
    for (const token of tokens) {
      const outcome = await verifier.check(token);
      if (!outcome.ok || outcome.cached) throw new Error("distinct tokens must all be verified, uncached");
    }
  }
}

async function throughput(fixture: Fixture) {
  const { jwks, valid, flood, snapshot, key } = fixture;
  const local = { issuer: jwks.issuer, jwksUri: jwks.jwksUri };
  const newAuthorizerVerifier = (cacheMaxEntries?: number): TokenVerifier =>
    createTokenVerifier(
      { userPoolId: POOL_ID, clientId: CLIENT_ID, local, jwksSnapshot: snapshot, cacheMaxEntries },
      authorizerLog,
    );

  const raw = rawCryptoVerifier(key.publicKey);
  if (!valid.every(raw)) throw new Error("raw verification failed: bench tokens are broken");

  const plain = JwtVerifier.create({ issuer: local.issuer, jwksUri: local.jwksUri, audience: CLIENT_ID });
  plain.cacheJwks(JSON.parse(snapshot));

  // The seed's pattern: a new verifier per invocation, the JWKS downloaded every time.
  const seedPattern = (jwksUri: string) => (token: string) =>
    JwtVerifier.create(
      { issuer: local.issuer, jwksUri, audience: CLIENT_ID },
      {
        jwksCache: new SimpleJwksCache({
          fetcher: new JwksFetcher({ timeoutMs: 2000, failureCooldownMs: 0, maxBytes: 65536 }),
        }),
      },
    ).verify(token);
  const seedVerify = seedPattern(local.jwksUri);
  const distantJwksUri = `${fixture.distantJwks.endpoint}${new URL(local.jwksUri).pathname}`;
  const distantSeedVerify = seedPattern(distantJwksUri);

  const validEvents = valid.map((token) => buildConnectAuthorizerEvent({ queryToken: token }));
  // Half the token set: cycling through the set in order, each token was evicted before it comes again.
  const distinctVerifier = newAuthorizerVerifier(DISTINCT_TOKENS / 2);
  await assertEveryRequestMisses(newAuthorizerVerifier(DISTINCT_TOKENS / 2), valid);
  const repeatedVerifier = newAuthorizerVerifier();
  const floodVerifier = newAuthorizerVerifier();
  const allowWith =
    (verifier: TokenVerifier, revocations?: RevocationLookup) => async (event: (typeof validEvents)[number]) => {
      const result = await authorizeConnect(event, verifier, authorizerLog, revocations);
      if (result.policyDocument.Statement[0]?.Effect !== "Allow") throw new Error("bench token was not allowed");
    };
  // As deployed: every allow also asks the user's revocation record, one signed GetItem per user per
  // REVOCATION.lookupCacheMs and container; the uncached figure is that GetItem alone.
  const distinctRevokedVerifier = newAuthorizerVerifier(DISTINCT_TOKENS / 2);
  const repeatedRevokedVerifier = newAuthorizerVerifier();
  const revocations = benchRevocationLookup(fixture);
  const uncachedLookup = benchRevocationLookup(fixture, 0);
  const lookupUsers = valid.map((_token, index) => `user-${index}`);
  const repeatedEvent = validEvents[0];
  if (!repeatedEvent) throw new Error("no bench tokens");

  const floodEvents = flood.map((token) => buildConnectAuthorizerEvent({ queryToken: token }));
  let allowedInFlood = 0;
  const reject = async (event: (typeof floodEvents)[number]) => {
    try {
      await authorizeConnect(event, floodVerifier, authorizerLog);
      allowedInFlood += 1;
    } catch {
      // Expected: every flood token is refused with "Unauthorized".
    }
  };

  const figures = await withOutputDiscarded(() =>
    interleavedOpsPerSecond(
      {
        rawCrypto: { inputs: valid, operation: raw, warmup: 200 },
        plainVerify: { inputs: valid, operation: (token: string) => plain.verify(token), warmup: 200 },
        seedPattern: { inputs: valid, operation: seedVerify, warmup: 20 },
        seedPatternDistant: { inputs: valid, operation: distantSeedVerify, warmup: 5 },
        distinct: { inputs: validEvents, operation: allowWith(distinctVerifier), warmup: 200 },
        repeated: { inputs: [repeatedEvent], operation: allowWith(repeatedVerifier), warmup: 1000 },
        distinctRevocation: {
          inputs: validEvents,
          operation: allowWith(distinctRevokedVerifier, revocations),
          warmup: 200,
        },
        repeatedRevocation: {
          inputs: [repeatedEvent],
          operation: allowWith(repeatedRevokedVerifier, revocations),
          warmup: 1000,
        },
        revocationGetItem: {
          inputs: lookupUsers,
          operation: (userId: string) => uncachedLookup.notBefore(userId),
          warmup: 20,
        },
        floodRate: { inputs: floodEvents, operation: reject, warmup: 500 },
      } as unknown as Record<string, FigureSpec<never>>,
      { rounds: ROUNDS, sliceMs: SLICE_MS, quantile: 1 },
    ),
  );
  if (allowedInFlood > 0) throw new Error(`${allowedInFlood} flood tokens were allowed`);
  return figures;
}

async function bundleFigures(): Promise<{ bytes: number; sdkModules: number; initMs: number }> {
  const result = await build({
    entryPoints: [AUTHORIZER_ENTRY],
    bundle: true,
    minify: true,
    platform: "node",
    format: "esm",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("esbuild produced no output");
  const sdkModules = Object.keys(result.metafile.inputs).filter((input) => input.includes("@aws-sdk/")).length;
  const dir = mkdtempSync(join(tmpdir(), "wsauth-bench-"));
  try {
    const file = join(dir, "authorizer.mjs");
    writeFileSync(file, output.contents);
    const probe = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t));`;
    const samples = Array.from({ length: 7 }, () =>
      Number(
        execFileSync(process.execPath, ["--input-type=module", "-e", probe], {
          encoding: "utf8",
          env: { PATH: process.env.PATH },
        }),
      ),
    ).sort((a, b) => a - b);
    return {
      bytes: output.contents.byteLength,
      sdkModules,
      initMs: samples[Math.floor(samples.length / 2)] ?? Number.NaN,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function result(
  name: string,
  value: number,
  unit: string,
  against?: { baseline: number; baselineName: string; minRatio?: number },
): BenchResult {
  const ratio = against ? value / against.baseline : null;
  const minRatio = against?.minRatio;
  return {
    name,
    value,
    unit,
    baseline: against?.baseline ?? null,
    baselineName: against?.baselineName ?? null,
    ratio,
    target: minRatio === undefined || !against ? null : `>= ${minRatio}x ${against.baselineName}`,
    met: minRatio === undefined || ratio === null ? null : ratio >= minRatio,
  };
}

/** Runs the auth benchmark (about 15 s) and returns its figures. */
export async function runAuthBench(): Promise<BenchResult[]> {
  const fixture = await prepare();
  let figures: Record<string, number>;
  try {
    figures = await throughput(fixture);
  } finally {
    await fixture.distantJwks.stop();
    await fixture.jwks.close();
    await fixture.dynamo.stop();
  }
  const {
    rawCrypto = 0,
    plainVerify = 0,
    seedPattern = 0,
    seedPatternDistant = 0,
    distinct = 0,
    repeated = 0,
    floodRate = 0,
    distinctRevocation = 0,
    repeatedRevocation = 0,
    revocationGetItem = 0,
  } = figures;
  const vsRaw = (minRatio?: number) => ({ baseline: rawCrypto, baselineName: "raw node:crypto", minRatio });
  const bundle = await bundleFigures();
  const kb = bundle.bytes / 1024;
  return [
    result("raw node:crypto RS256 verify (the limit)", rawCrypto, "verify/s"),
    result("aws-jwt-verify, plain warm verifier", plainVerify, "verify/s", vsRaw()),
    result("seed pattern (verifier + JWKS fetch per call)", seedPattern, "verify/s", vsRaw()),
    result(`seed pattern, JWKS ${JWKS_RTT_MS} ms round trip away`, seedPatternDistant, "verify/s", vsRaw()),
    result("authorizer, distinct valid tokens", distinct, "verify/s", {
      baseline: plainVerify,
      baselineName: "plain aws-jwt-verify",
      minRatio: 0.9,
    }),
    // The ">= 15x the seed's pattern" target is held against the seed pattern as it runs where it is
    // deployed, with a network between it and the JWKS (1 ms here, less than any real round trip to
    // Cognito). Over loopback with no latency the seed's per-call fetch costs only ~16 raw RSA checks,
    // so that ratio is printed for the record, without a target (BENCHMARKS.md explains).
    result("authorizer, distinct valid tokens", distinct, "verify/s", {
      baseline: seedPattern,
      baselineName: "seed pattern (loopback, no latency)",
    }),
    result("authorizer, distinct valid tokens", distinct, "verify/s", {
      baseline: seedPatternDistant,
      baselineName: `seed pattern, JWKS ${JWKS_RTT_MS} ms away`,
      minRatio: 15,
    }),
    result("authorizer, repeated token", repeated, "verify/s", vsRaw(10)),
    // With the revocation lookup, as deployed. A repeated token's user is in the lookup cache (one
    // GetItem per REVOCATION.lookupCacheMs): the repeated-token target holds with it. Distinct users
    // each cost one signed GetItem (here to dynalite over loopback; on AWS a network round trip),
    // which dwarfs the crypto path, so that figure has no target: it is the price of revocation.
    result("authorizer + revocation lookup, distinct users", distinctRevocation, "verify/s", {
      baseline: distinct,
      baselineName: "authorizer, no lookup",
    }),
    result("authorizer + revocation lookup, repeated token", repeatedRevocation, "verify/s", vsRaw(10)),
    result("revocation lookup, uncached (signed GetItem to local DynamoDB)", revocationGetItem, "lookup/s"),
    result("authorizer, expired/garbage flood", floodRate, "verify/s", vsRaw(5)),
    {
      name: "authorizer bundle (esbuild, minified, esm)",
      value: kb,
      unit: "KB",
      baseline: null,
      baselineName: null,
      ratio: null,
      target: "<= 50 KB",
      met: kb <= 50,
    },
    {
      name: "AWS SDK modules in the bundle",
      value: bundle.sdkModules,
      unit: "modules",
      baseline: null,
      baselineName: null,
      ratio: null,
      target: "0",
      met: bundle.sdkModules === 0,
    },
    {
      name: "authorizer module init (fresh process)",
      value: bundle.initMs,
      unit: "ms",
      baseline: null,
      baselineName: null,
      ratio: null,
      target: "<= 50 ms",
      met: bundle.initMs <= 50,
    },
  ];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await runAuthBench();
  const raw = results[0]?.value ?? Number.NaN;
  console.log(
    formatResults(results, [
      { title: "x raw crypto", cell: (r) => (r.unit === "verify/s" ? `${(r.value / raw).toFixed(2)}x` : "") },
    ]),
  );
  if (results.some((r) => r.met === false)) process.exitCode = 1;
}
