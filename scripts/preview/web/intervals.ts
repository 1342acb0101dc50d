/**
 * The intervals Grafana's Prometheus data source derives for a panel query (pkg/promlib/models/query.go):
 * $__interval from the time range and the panel's width, never below the data source's timeInterval,
 * and $__rate_interval = max($__interval + scrape interval, 4 x scrape interval).
 */
import { rangeUtil, type TimeRange } from "@grafana/data";

export interface QueryIntervals {
  /** Query step and $__interval. */
  intervalMs: number;
  rateIntervalMs: number;
}

/** Prometheus evaluates at most 11000 points per series; Grafana widens the step to stay below that. */
const SAFE_RESOLUTION = 11_000;

export function rateIntervalMs(intervalMs: number, scrapeIntervalMs: number): number {
  return Math.max(intervalMs + scrapeIntervalMs, 4 * scrapeIntervalMs);
}

/** `minInterval` is the panel's own `interval` if set, else the data source's timeInterval. */
export function queryIntervals(
  range: TimeRange,
  maxDataPoints: number,
  minInterval: string,
  scrapeInterval: string,
): QueryIntervals {
  const { intervalMs } = rangeUtil.calculateInterval(range, maxDataPoints, minInterval);
  const safeMs = rangeUtil.roundInterval((range.to.valueOf() - range.from.valueOf()) / SAFE_RESOLUTION);
  const scrapeMs = rangeUtil.intervalToMs(scrapeInterval);
  return { intervalMs: Math.max(intervalMs, safeMs), rateIntervalMs: rateIntervalMs(intervalMs, scrapeMs) };
}

/** A duration as Go's time.Duration prints it ("20s", "1m30s"), which is what Grafana puts in the query. */
export function goDuration(ms: number): string {
  if (ms % 1000 !== 0 || ms < 1000) return `${ms}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  if (hours > 0) return `${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${minutes}m${seconds}s`;
  return `${seconds}s`;
}

/** Replaces the built-in variables the way the data source does; anything left with `$` is an error. */
export function interpolate(expr: string, intervals: QueryIntervals, range: TimeRange): string {
  const rangeSeconds = Math.round((range.to.valueOf() - range.from.valueOf()) / 1000);
  const result = expr
    .replaceAll(/\$\{?__rate_interval\}?/g, goDuration(intervals.rateIntervalMs))
    .replaceAll(/\$\{?__interval\}?/g, rangeUtil.secondsToHms(intervals.intervalMs / 1000))
    .replaceAll(/\$\{?__range\}?/g, `${rangeSeconds}s`);
  if (result.includes("$")) throw new Error(`variable not supported by the preview in: ${expr}`);
  return result;
}
