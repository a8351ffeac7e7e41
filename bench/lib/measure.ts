import { performance } from "node:perf_hooks";

export interface FigureSpec<Input> {
  inputs: readonly Input[];
  operation: (input: Input) => unknown;
  /** Untimed operations before the first slice (JIT, caches, connections). */
  warmup?: number;
}

/** How many operations run between two clock reads: small against any slice, negligible in cost. */
const BATCH = 16;

/**
 * A figure's position in its inputs. It persists across slices, so a figure cycles through its
 * inputs in order over the whole run (a slice never restarts at the first input: with a cache
 * smaller than the input set, restarting would turn recently seen inputs into cache hits).
 */
interface Runner<Input> {
  spec: FigureSpec<Input>;
  next: number;
}

async function runOperations<Input>(runner: Runner<Input>, count: number): Promise<void> {
  const { inputs, operation } = runner.spec;
  for (let index = 0; index < count; index += 1) {
    await operation(inputs[runner.next] as Input);
    runner.next = runner.next + 1 === inputs.length ? 0 : runner.next + 1;
  }
}

/**
 * Runs a figure's operation sequentially (as one Lambda container does) for about `sliceMs` and
 * returns operations per second.
 */
async function runSlice<Input>(runner: Runner<Input>, sliceMs: number): Promise<number> {
  let count = 0;
  let elapsed = 0;
  const start = performance.now();
  do {
    await runOperations(runner, BATCH);
    count += BATCH;
    elapsed = performance.now() - start;
  } while (elapsed < sliceMs);
  return (count / elapsed) * 1000;
}

/**
 * Measures several figures in interleaved rounds (a short slice of each, round-robin) and returns
 * every slice's rate, per figure, in round order. On a shared machine the load changes from second
 * to second; interleaving exposes every figure to the same conditions, so the ratios between them
 * stay meaningful. The order rotates every round, so no figure always runs right after the same
 * neighbour (e.g. inherits the garbage of an allocation-heavy one).
 */
export async function interleavedSamples<Name extends string>(
  figures: Record<Name, FigureSpec<never>>,
  options: { rounds: number; sliceMs: number },
): Promise<Record<Name, number[]>> {
  const names = Object.keys(figures) as Name[];
  const runners = new Map<Name, Runner<unknown>>();
  for (const name of names) {
    const spec = figures[name] as unknown as FigureSpec<unknown>;
    if (spec.inputs.length === 0) throw new Error(`figure ${name} has no inputs`);
    runners.set(name, { spec, next: 0 });
  }
  const samples = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<Name, number[]>;
  for (const [, runner] of runners) await runOperations(runner, runner.spec.warmup ?? 0);
  for (let round = 0; round < options.rounds; round += 1) {
    for (let offset = 0; offset < names.length; offset += 1) {
      const name = names[(round + offset) % names.length] as Name;
      const runner = runners.get(name) as Runner<unknown>;
      samples[name].push(await runSlice(runner, options.sliceMs));
    }
  }
  return samples;
}

/** The `q` quantile (0..1, nearest rank) of some numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Each figure's rate over interleaved rounds (see `interleavedSamples`), summarised by a quantile of
 * its slices: high enough to skip slices that a burst of other work slowed down, low enough that no
 * single lucky slice decides the figure.
 */
export async function interleavedOpsPerSecond<Name extends string>(
  figures: Record<Name, FigureSpec<never>>,
  options: { rounds: number; sliceMs: number; quantile: number },
): Promise<Record<Name, number>> {
  const samples = await interleavedSamples(figures, options);
  const names = Object.keys(samples) as Name[];
  return Object.fromEntries(names.map((name) => [name, quantile(samples[name], options.quantile)])) as Record<
    Name,
    number
  >;
}
