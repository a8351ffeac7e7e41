import { performance } from "node:perf_hooks";

/**
 * Runs `operation` sequentially (as one Lambda container does) over `inputs`, cycling, for about
 * `durationMs`, and returns operations per second. `beforePass` runs untimed before each pass over
 * the inputs (e.g. to start from a fresh, cold cache).
 */
export async function opsPerSecond<Input>(
  inputs: readonly Input[],
  operation: (input: Input) => unknown,
  options: { durationMs: number; beforePass?: () => void; warmup?: number },
): Promise<number> {
  if (inputs.length === 0) throw new Error("no inputs");
  for (let index = 0; index < (options.warmup ?? 0); index += 1)
    await operation(inputs[index % inputs.length] as Input);
  let count = 0;
  let elapsed = 0;
  while (elapsed < options.durationMs) {
    options.beforePass?.();
    const start = performance.now();
    for (const input of inputs) {
      await operation(input);
      count += 1;
      if ((count & 63) === 0 && elapsed + (performance.now() - start) >= options.durationMs) break;
    }
    elapsed += performance.now() - start;
  }
  return (count / elapsed) * 1000;
}

export interface FigureSpec<Input> {
  inputs: readonly Input[];
  operation: (input: Input) => unknown;
  beforePass?: () => void;
  warmup?: number;
}

/**
 * Measures several figures in interleaved rounds (a short slice of each, round-robin) and keeps each
 * figure's best round. On a shared machine the load changes from second to second; interleaving
 * exposes every figure to the same conditions, so the ratios between them stay meaningful.
 */
export async function interleavedOpsPerSecond<Name extends string>(
  figures: Record<Name, FigureSpec<never>>,
  options: { rounds: number; sliceMs: number },
): Promise<Record<Name, number>> {
  const names = Object.keys(figures) as Name[];
  const best = Object.fromEntries(names.map((name) => [name, 0])) as Record<Name, number>;
  for (const name of names) {
    const spec = figures[name] as unknown as FigureSpec<unknown>;
    await opsPerSecond(spec.inputs, spec.operation, {
      durationMs: 1,
      warmup: spec.warmup ?? 0,
      beforePass: spec.beforePass,
    });
  }
  for (let round = 0; round < options.rounds; round += 1) {
    for (const name of names) {
      const spec = figures[name] as unknown as FigureSpec<unknown>;
      const rate = await opsPerSecond(spec.inputs, spec.operation, {
        durationMs: options.sliceMs,
        beforePass: spec.beforePass,
      });
      best[name] = Math.max(best[name], rate);
    }
  }
  return best;
}
