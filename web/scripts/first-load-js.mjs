#!/usr/bin/env node
/**
 * Measures the JavaScript a browser downloads to show `/`, from the production build in `.next`
 * (run `npx next build` first). Next.js 16 no longer prints "First Load JS" after a build, so this
 * serves the build with `next start` on an ephemeral port, reads the `<script src>` tags (and
 * stylesheets) of the rendered page, and sizes each file raw, gzip (level 9) and brotli (quality
 * 11). `noModule` polyfills are left out: modern browsers never fetch them. The configuration is
 * a well-formed placeholder: the page's bundle does not depend on its values.
 *
 * Usage (from web/): node scripts/first-load-js.mjs [--json]
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const webDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const asJson = process.argv.includes("--json");

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitForPage(url, child) {
  for (let attempt = 0; attempt < 120; attempt += 1) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return await response.text();
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within 30 s`);
}

function assetsOf(html) {
  const scripts = [...html.matchAll(/<script\b([^>]*)>/g)]
    .map((match) => match[1] ?? "")
    .filter((attributes) => !/\bnoModule\b/i.test(attributes))
    .map((attributes) => attributes.match(/\bsrc="([^"]+)"/)?.[1])
    .filter((src) => src?.startsWith("/_next/static/"));
  const styles = [...html.matchAll(/<link\b[^>]*rel="stylesheet"[^>]*>/g)]
    .map((match) => match[0].match(/\bhref="([^"]+)"/)?.[1])
    .filter((href) => href?.startsWith("/_next/static/"));
  return { scripts: [...new Set(scripts)], styles: [...new Set(styles)] };
}

async function sizeOf(path) {
  const file = join(
    webDir,
    ".next",
    "static",
    decodeURIComponent(path.replace(/^\/_next\/static\//, "").split("?")[0]),
  );
  const body = await readFile(file);
  return {
    file: path.replace(/^\/_next\//, ""),
    raw: body.byteLength,
    gzip: gzipSync(body, { level: 9 }).byteLength,
    brotli: brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).byteLength,
  };
}

const total = (rows) =>
  rows.reduce((sum, row) => ({ raw: sum.raw + row.raw, gzip: sum.gzip + row.gzip, brotli: sum.brotli + row.brotli }), {
    raw: 0,
    gzip: 0,
    brotli: 0,
  });
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;

const port = await freePort();
const child = spawn(
  process.execPath,
  [join(webDir, "node_modules/next/dist/bin/next"), "start", "-p", String(port), "-H", "127.0.0.1"],
  {
    cwd: webDir,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      NEXT_PUBLIC_REGION: "us-east-1",
      NEXT_PUBLIC_USER_POOL_ID: "us-east-1_placeholder",
      NEXT_PUBLIC_USER_POOL_CLIENT_ID: "placeholderclientid",
      NEXT_PUBLIC_WEBSOCKET_URL: "wss://example.invalid/production",
    },
  },
);
try {
  const html = await waitForPage(`http://127.0.0.1:${port}/`, child);
  if (html.includes("The site is not configured")) {
    throw new Error("the page rendered its configuration problems instead of the sign-in");
  }
  const { scripts, styles } = assetsOf(html);
  const js = await Promise.all(scripts.map(sizeOf));
  const css = await Promise.all(styles.map(sizeOf));
  const result = { js, jsTotal: total(js), css, cssTotal: total(css) };
  if (asJson) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    for (const row of [...js, ...css]) {
      process.stdout.write(
        `${row.file.padEnd(44)} ${kb(row.raw).padStart(10)} ${kb(row.gzip).padStart(10)} ${kb(row.brotli).padStart(10)}\n`,
      );
    }
    const line = (label, sum) =>
      `${label.padEnd(44)} ${kb(sum.raw).padStart(10)} ${kb(sum.gzip).padStart(10)} ${kb(sum.brotli).padStart(10)}\n`;
    process.stdout.write(`${"".padEnd(44)} ${"raw".padStart(10)} ${"gzip".padStart(10)} ${"brotli".padStart(10)}\n`);
    process.stdout.write(line(`first-load JS of / (${js.length} files)`, result.jsTotal));
    process.stdout.write(line(`stylesheets of / (${css.length} files)`, result.cssTotal));
  }
} finally {
  child.kill("SIGTERM");
}
