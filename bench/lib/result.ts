/** One figure of a benchmark, as printed and as written to bench-results.json. */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The figure this one is compared with (null: none). */
  baseline: number | null;
  baselineName: string | null;
  /** value / baseline (null without a baseline). */
  ratio: number | null;
  /** Human-readable target, e.g. ">= 10x node:crypto RS256 verify" (null: informational). */
  target: string | null;
  /** Whether the target is met (null: no target). */
  met: boolean | null;
}

function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(2);
}

/** A plain-text table of results; `extra` adds computed columns (e.g. a ratio to a reference figure). */
export function formatResults(
  results: BenchResult[],
  extra: Array<{ title: string; cell: (r: BenchResult) => string }> = [],
): string {
  const header = ["figure", "value", "unit", ...extra.map((column) => column.title), "vs", "ratio", "target", "met"];
  const rows = results.map((r) => [
    r.name,
    formatNumber(r.value),
    r.unit,
    ...extra.map((column) => column.cell(r)),
    r.baselineName ?? "",
    r.ratio === null ? "" : `${r.ratio.toFixed(2)}x`,
    r.target ?? "",
    r.met === null ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => (row[index] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}
