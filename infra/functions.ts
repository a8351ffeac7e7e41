/** Settings every handler of the app shares; infra files build their function definitions with `handler()`. */
import { TABLE_ACTIONS } from "@wsauth/core/constants";
import { table } from "./storage";

/** A current Node.js Lambda runtime (the handlers are ESM bundles built by SST). */
export const LAMBDA_RUNTIME = "nodejs24.x";

/** Where handler modules live; the module map itself is ROUTE_HANDLERS in @wsauth/core/constants. */
const HANDLER_DIR = "packages/functions/src";

/**
 * The DynamoDB actions `module` makes on the connections table (TABLE_ACTIONS), on the table and its
 * indexes. A table link grants nothing by itself (see sst.config.ts), so this is all the access it gets.
 */
function tableGrants(module: string): sst.aws.FunctionArgs["permissions"] {
  const actions = TABLE_ACTIONS[module];
  if (actions === undefined) throw new Error(`TABLE_ACTIONS has no entry for the handler module "${module}"`);
  if (actions.length === 0) return [];
  return [{ actions: [...actions], resources: [table.arn, $interpolate`${table.arn}/index/*`] }];
}

/**
 * Function definition for the handler module `packages/functions/src/<module>.ts` (export `handler`),
 * linked to exactly the resources it needs and granted exactly its table actions.
 */
export function handler(module: string, link: sst.aws.FunctionArgs["link"], extra: Partial<sst.aws.FunctionArgs> = {}) {
  return {
    handler: `${HANDLER_DIR}/${module}.handler`,
    runtime: LAMBDA_RUNTIME,
    architecture: "arm64",
    link,
    permissions: tableGrants(module),
    ...extra,
  } satisfies sst.aws.FunctionArgs;
}
