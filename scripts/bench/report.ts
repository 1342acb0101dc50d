/** The Markdown tables: each variant, the differences beside the A/A noise floor, /metrics and memory. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { checkMetrics } from "./metrics-check";
import { median, num, range, span, table } from "./stats";
import type { WrkResult } from "./wrk";

/** The service's own budget: the whole service within 1.25× the CPU per request of `minimal`. */
const BUDGET = 1.25;

export interface Comparison {
  a: string;
  b: string;
  what: string;
  /** Read as a ratio against BUDGET, not as a difference. */
  budget?: boolean;
  rounds: { a: number; b: number }[];
}

export const version = (pkg: string): string =>
  JSON.parse(readFileSync(join(import.meta.dir, "../../node_modules", pkg, "package.json"), "utf8")).version;

function summarize(c: Comparison) {
  const diffs = c.rounds.map((r) => r.a - r.b);
  const ratios = c.rounds.map((r) => r.a / r.b);
  // The noise floor when c is the A/A pair: the largest deviation of one round from "no difference".
  const floor = {
    diff: Math.max(...diffs.map(Math.abs)),
    ratio: Math.max(...ratios.map((r) => Math.abs(r - 1))),
  };
  return { diff: median(diffs), diffs: range(diffs), ratio: median(ratios), ratios: range(ratios), floor };
}

/** Never pass/fail: a difference within the A/A floor is noise; the ratio is read against BUDGET. */
function reading(c: Comparison, aa: ReturnType<typeof summarize>): string {
  const s = summarize(c);
  if (c.budget) {
    const noisy = { min: s.ratio * (1 - aa.floor.ratio), max: s.ratio * (1 + aa.floor.ratio) };
    const verdict = noisy.max <= BUDGET ? "within" : noisy.min > BUDGET ? "above" : "within noise of";
    return `**${verdict} ${BUDGET}×** (${span(noisy, 3)} with the noise floor)`;
  }
  return Math.abs(s.diff) <= aa.floor.diff
    ? "within noise"
    : `**${num(s.diff, 2, true)} µs/req**, beyond noise`;
}

export function comparisonTable(comparisons: readonly Comparison[], aaPair: Comparison): string {
  const aa = summarize(aaPair);
  const rows = comparisons.map((c) => {
    const s = summarize(c);
    const floor = c.budget ? `±${num(aa.floor.ratio * 100, 1)} %` : `±${num(aa.floor.diff, 2)} µs`;
    return [
      `${c.a} ${c.budget ? "÷" : "−"} ${c.b}: ${c.what}`,
      `${num(s.diff, 2, true)} (${span(s.diffs, 2, true)})`,
      `${num(s.ratio, 3)} (${span(s.ratios, 3)})`,
      c === aaPair ? "" : floor,
      c === aaPair ? "its largest deviation is the noise floor" : reading(c, aa),
    ];
  });
  return table(["comparison", "a − b µs/req (range)", "a ÷ b (range)", "noise floor", "reading"], rows);
}

export function variantTable(comparisons: readonly Comparison[], alone: Map<string, WrkResult[]>): string {
  const rows = [...alone].map(([label, runs]) => {
    const cpu = comparisons.flatMap((c) =>
      c.rounds.flatMap((r) => [c.a === label ? r.a : [], c.b === label ? r.b : []].flat()),
    );
    const med = (f: (r: WrkResult) => number) => num(median(runs.map(f)), 0);
    const [rps, p50, p99] = [med((r) => r.requests / r.seconds), med((r) => r.p50_us), med((r) => r.p99_us)];
    return [label, num(median(cpu), 2), rps, p50, p99];
  });
  return table(["variant", "server CPU µs/req", "req/s", "p50 µs", "p99 µs"], rows);
}

export function metricsTable(m: Awaited<ReturnType<typeof checkMetrics>>): string {
  const equal = m.seriesBefore === m.seriesAfter ? "equal" : "**NOT equal: a label takes raw values**";
  const [k, render] = [`${m.distinct / 1000}k`, `${num(m.renderMs.median, 3)} ms (${span(m.renderMs, 3)})`];
  return table(
    ["`service` /metrics, over HTTP", "value"],
    [
      [`render time, median of ${m.renders} GETs (min … max)`, render],
      ["exposition size", `${m.bytes} bytes`],
      [
        `series before → after ${k} distinct ids and ${k} unknown paths`,
        `${m.seriesBefore} → ${m.seriesAfter}: ${equal}`,
      ],
    ],
  );
}

type MemoryCase = { count: number; size: number; runs: { rss: number; heap: number }[] };

export function memoryTable(cases: readonly MemoryCase[]): string {
  const rows = cases.map(({ count, size, runs }) => {
    const cell = (key: "rss" | "heap") => {
      const values = runs.map((r) => r[key]);
      return `${num(median(values), 0)} (${span(range(values), 0)}), ${num(median(values) - size, 0, true)} over the body`;
    };
    return [`${count} × ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size} B`}`, cell("rss"), cell("heap")];
  });
  return table(["objects stored", "RSS bytes/object", "JS heap bytes/object"], rows);
}
