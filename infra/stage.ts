/**
 * Stateful resources of a protected stage (`production`: `protect` in sst.config.ts) outlive the stage
 * and refuse deletion: `sst remove` keeps them, and a change that would replace them fails instead of
 * dropping the data. Every other stage is removed completely.
 */
export function keepInProtectedStage(opts: $util.CustomResourceOptions): undefined {
  if (!$app.protect) return undefined;
  opts.retainOnDelete = true;
  opts.protect = true;
  return undefined;
}
