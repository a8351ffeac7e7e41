import type { BenchResult } from "./result";

/** The `p`-th percentile (0..100) of `samples` (nearest rank); NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Arguments of `figure`: the measured value, its baseline, and how to read the ratio. */
export interface FigureInput {
  name: string;
  value: number;
  unit: string;
  baseline?: { value: number; name: string };
  /** Lower values are better (latency, time): ratio = baseline / value. */
  lowerIsBetter?: boolean;
  /** Target on the ratio (e.g. 0.25 means ">= 0.25x the baseline"). */
  minRatio?: number;
  /** Target on the value itself, for figures with an absolute bound. */
  maxValue?: number;
}

/** Builds one `BenchResult`: ratio against the baseline (inverted where lower is better) and the target check. */
export function figure(input: FigureInput): BenchResult {
  const { baseline } = input;
  const ratio =
    baseline === undefined || baseline.value <= 0 || input.value <= 0
      ? null
      : input.lowerIsBetter
        ? baseline.value / input.value
        : input.value / baseline.value;
  const targets: string[] = [];
  let met: boolean | null = null;
  if (input.minRatio !== undefined && baseline) {
    targets.push(`>= ${input.minRatio}x ${baseline.name}`);
    met = ratio !== null && ratio >= input.minRatio;
  }
  if (input.maxValue !== undefined) {
    targets.push(`<= ${input.maxValue} ${input.unit}`);
    met = (met ?? true) && input.value <= input.maxValue;
  }
  return {
    name: input.name,
    value: input.value,
    unit: input.lowerIsBetter ? `${input.unit} (lower is better)` : input.unit,
    baseline: baseline?.value ?? null,
    baselineName: baseline?.name ?? null,
    ratio,
    target: targets.length > 0 ? targets.join(", ") : null,
    met,
  };
}
