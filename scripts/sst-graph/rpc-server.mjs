// The part of the SST CLI that components talk to while a program runs: a JSON-RPC 1.0 endpoint at
// `$SST_SERVER/rpc`. The graph evaluation answers the methods in RPC_METHODS and records what it was
// asked; it builds nothing and calls no AWS API.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, isAbsolute, join } from "node:path";
import { RPC_METHODS } from "./recipe.mjs";

const HANDLER_SOURCE_EXTENSIONS = [".ts", ".mts", ".tsx", ".js", ".mjs", ".jsx"];

/**
 * `Runtime.Build`: the CLI bundles the handler and answers with the folder holding it. Here the
 * handler's source must exist (a typo in a handler path fails the evaluation, as it fails `sst deploy`);
 * the folder gets a placeholder module at the handler's path, so SST can zip it.
 */
function build(input, { root, artifactsDir }) {
  const exportName = extname(input.handler);
  const modulePath = input.handler.slice(0, -exportName.length);
  if (input.bundle) {
    const bundleDir = isAbsolute(input.bundle) ? input.bundle : join(root, input.bundle);
    if (!existsSync(bundleDir)) return { errors: [`bundle folder ${input.bundle} does not exist`] };
    return { handler: input.handler, out: bundleDir, errors: [], sourcemaps: [] };
  }
  const source = HANDLER_SOURCE_EXTENSIONS.map((ext) => join(root, `${modulePath}${ext}`)).find(existsSync);
  if (!source) return { errors: [`handler source ${modulePath}.{ts,js,…} of ${input.functionID} does not exist`] };
  const out = join(artifactsDir, input.functionID);
  const file = join(out, `${modulePath}.mjs`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `// placeholder for ${modulePath} (the graph evaluation does not bundle)\n`);
  return { handler: input.handler, out, errors: [], sourcemaps: [] };
}

/** Starts the endpoint on a free loopback port; `calls` receives every request, in order. */
export async function startRpcServer({ root, artifactsDir, region }) {
  const calls = [];
  const answer = (method, input) => {
    switch (method) {
      case RPC_METHODS.bootstrap:
        return {
          asset: `sst-asset-mock-${input.region ?? region}`,
          assetEcrRegistryId: "123456789012",
          assetEcrUrl: `123456789012.dkr.ecr.${input.region ?? region}.amazonaws.com/sst-asset`,
          state: `sst-state-mock-${input.region ?? region}`,
          appsyncHttp: "mock.appsync-api.amazonaws.com",
          appsyncRealtime: "mock.appsync-realtime-api.amazonaws.com",
        };
      case RPC_METHODS.appsync:
        return { http: "mock.appsync-api.amazonaws.com", realtime: "mock.appsync-realtime-api.amazonaws.com" };
      case RPC_METHODS.build:
        return build(input, { root, artifactsDir });
      case RPC_METHODS.addTarget:
        return {};
      default:
        // The platform maps this message to its MethodNotFoundError; the evaluation reports it.
        throw new Error(`rpc: can't find method ${method}`);
    }
  };
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      let reply;
      try {
        const { method, params, id } = JSON.parse(body);
        const input = params?.[0] ?? {};
        calls.push({ method, input });
        try {
          reply = { id: id ?? null, result: answer(method, input), error: null };
        } catch (error) {
          reply = { id: id ?? null, result: null, error: error.message };
        }
      } catch (error) {
        response.writeHead(400).end(`bad JSON-RPC request: ${error.message}`);
        return;
      }
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
