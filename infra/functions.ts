/** Settings every handler of the app shares; infra files build their function definitions with `handler()`. */

/** A current Node.js Lambda runtime (the handlers are ESM bundles built by SST). */
export const LAMBDA_RUNTIME = "nodejs24.x";

/** Where handler modules live; the module map itself is ROUTE_HANDLERS in @wsauth/core/constants. */
const HANDLER_DIR = "packages/functions/src";

/**
 * Function definition for the handler module `packages/functions/src/<module>.ts` (export `handler`),
 * linked to exactly the resources it needs.
 */
export function handler(module: string, link: sst.aws.FunctionArgs["link"], extra: Partial<sst.aws.FunctionArgs> = {}) {
  return {
    handler: `${HANDLER_DIR}/${module}.handler`,
    runtime: LAMBDA_RUNTIME,
    architecture: "arm64",
    link,
    ...extra,
  } satisfies sst.aws.FunctionArgs;
}
