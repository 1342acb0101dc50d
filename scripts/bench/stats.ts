/** Medians, ranges and Markdown tables for the report. */

export type Range = { min: number; max: number };

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (i: number) => sorted[i] ?? Number.NaN;
  return (at(Math.floor((sorted.length - 1) / 2)) + at(Math.ceil((sorted.length - 1) / 2))) / 2;
}

export const range = (values: readonly number[]): Range => ({
  min: Math.min(...values),
  max: Math.max(...values),
});

/** `decimals` decimals and, with `sign`, a + before positive values. */
export const num = (value: number, decimals: number, sign = false) =>
  Number.isFinite(value) ? (sign && value > 0 ? "+" : "") + value.toFixed(decimals) : "n/a";

export const span = (r: Range, decimals: number, sign = false) =>
  `${num(r.min, decimals, sign)} … ${num(r.max, decimals, sign)}`;

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}
