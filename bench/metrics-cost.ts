/**
 * `bun bench/metrics-cost.ts`: what /metrics costs to render and whether its size is bounded.
 * Prints one JSON object (bench/run.ts runs it and reports it).
 *
 * In-process (app.handle): no network in the way of these questions.
 * 1. Realistic traffic first: every status the service sends, on several methods, matched and unmatched,
 *    so the histogram has the label sets a live service accumulates. Then the median time of 200 renders
 *    of GET /metrics (routing, prom-client's rendering of every metric, reading the body).
 * 2. The series count before and after 100k distinct ids (PUT, GET, DELETE each) and 100k distinct
 *    unknown paths: it must not change, and the request count must grow by exactly the requests sent.
 * 3. One observation alone: prom-client's labelled `histogram.observe(labels, v)` against
 *    RequestDurationHistogram.record() with the same labels and values (why the latter exists).
 */
import { Histogram, Registry } from "prom-client";
import { createApp } from "../server/app";
import { BUCKET_ROUTE } from "../server/buckets";
import { silentLogger } from "../server/log";
import { DURATION_BUCKETS, UNMATCHED_PATH } from "../server/metrics";
import { RequestDurationHistogram } from "../server/request-duration";
import { Store } from "../server/store";
import { parseExposition, type Sample } from "../test/support/exposition";
import { median } from "./stats";

const BASE = "http://bench.local";
const RENDERS = 200;
const DISTINCT = 100_000;
const MAX_BODY = 1024;
const MAX_STORE = 4 * MAX_BODY;
const COUNT = "http_request_duration_seconds_count";

/** A healthy service sends no 500; this store fails on one id so the traffic includes that status too. */
class StoreWithOneBadId extends Store {
  override get(id: string): Uint8Array | undefined {
    if (id === "broken") throw new Error("simulated store failure");
    return super.get(id);
  }
}

const app = createApp({
  logger: silentLogger,
  maxBodyBytes: MAX_BODY,
  store: new StoreWithOneBadId(MAX_STORE),
});

async function send(method: string, path: string, expected: number, body?: string): Promise<void> {
  const response = await app.handle(
    new Request(BASE + path, { method, ...(body === undefined ? {} : { body }) }),
  );
  await response.arrayBuffer();
  if (response.status !== expected) {
    throw new Error(`${method} ${path} answered ${response.status}, expected ${expected}`);
  }
}

async function render(): Promise<string> {
  return (await app.handle(new Request(`${BASE}/metrics`))).text();
}

async function scrape(): Promise<{ samples: Sample[]; bytes: number }> {
  const text = await render();
  return { samples: parseExposition(text), bytes: text.length };
}

function requestCount(samples: Sample[]): number {
  return samples.filter((s) => s.name === COUNT).reduce((sum, s) => sum + s.value, 0);
}

/** One round of the mix: [method, path, expected status, body]. */
const MIX: ReadonlyArray<readonly [string, string, number, string?]> = [
  ["PUT", "/api/buckets/a", 200, "x".repeat(100)],
  ["GET", "/api/buckets/a", 200],
  ["HEAD", "/api/buckets/a", 200],
  ["DELETE", "/api/buckets/a", 204],
  ["GET", "/api/buckets/a", 404],
  ["HEAD", "/api/buckets/a", 404],
  ["DELETE", "/api/buckets/a", 404],
  ["POST", "/api/buckets/a", 405, "x"],
  ["PATCH", "/api/buckets/a", 405, "x"],
  ["OPTIONS", "/api/buckets/a", 405],
  ["PUT", "/api/buckets/big", 413, "x".repeat(MAX_BODY + 1)],
  ["PUT", `/api/buckets/${"i".repeat(300)}`, 400, "x"],
  ["GET", "/api/buckets/broken", 500],
  ["GET", "/favicon.ico", 404],
  ["POST", "/wp-login.php", 404, "x"],
  ["PROPFIND", "/api/buckets/a", 405],
];

async function realisticTraffic(rounds: number): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (const [method, path, status, body] of MIX) await send(method, path, status, body);
    // A full store: fill it, one more PUT gets 507, then empty it again.
    for (let i = 0; i < MAX_STORE / MAX_BODY; i++)
      await send("PUT", `/api/buckets/fill${i}`, 200, "x".repeat(MAX_BODY));
    await send("PUT", "/api/buckets/one-too-many", 507, "x");
    for (let i = 0; i < MAX_STORE / MAX_BODY; i++) await send("DELETE", `/api/buckets/fill${i}`, 204);
  }
}

await realisticTraffic(100);

const renderMs: number[] = [];
for (let i = 0; i < RENDERS; i++) {
  const start = performance.now();
  await render();
  renderMs.push(performance.now() - start);
}

const before = await scrape();
const distinctIds = async () => {
  for (let i = 0; i < DISTINCT; i++) {
    await send("PUT", `/api/buckets/id-${i}`, 200, "x".repeat(100));
    await send("GET", `/api/buckets/id-${i}`, 200);
    await send("DELETE", `/api/buckets/id-${i}`, 204);
  }
};
const unknownPaths = async () => {
  for (let i = 0; i < DISTINCT; i++) await send("GET", `/unknown/path-${i}?q=${i}`, 404);
};
await distinctIds();
await unknownPaths();
const after = await scrape();

/** The distinct (method, path, status) label sets of the request histogram. */
const labelSets = (samples: Sample[]) =>
  new Set(
    samples
      .filter((s) => s.name === COUNT)
      .map((s) => `${s.labels.method} ${s.labels.path} ${s.labels.status}`),
  );

/** Nanoseconds per call of `observe`, median of 7 batches of 200k calls over a realistic label mix. */
function nsPerObservation(observe: (method: string, status: number, seconds: number) => void): number {
  const methods = ["PUT", "GET", "DELETE", "GET"];
  const statuses = [200, 200, 204, 404];
  const batch = 200_000;
  const results: number[] = [];
  for (let b = 0; b < 7; b++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) {
      const k = i & 3;
      observe(methods[k] as string, statuses[k] as number, 0.00003 + (i & 7) * 0.00001);
    }
    results.push(((performance.now() - start) * 1e6) / batch);
  }
  return median(results);
}

const promClientHistogram = new Histogram({
  name: "prom_client_seconds",
  help: "prom-client's own histogram",
  labelNames: ["method", "path", "status"],
  buckets: [...DURATION_BUCKETS],
  registers: [new Registry()],
});
const cells = new RequestDurationHistogram(
  "cells_seconds",
  "the service's histogram",
  DURATION_BUCKETS,
  new Registry(),
);
const promClientNs = nsPerObservation((method, status, seconds) =>
  promClientHistogram.observe({ method, path: BUCKET_ROUTE, status }, seconds),
);
const cellsNs = nsPerObservation((method, status, seconds) =>
  cells.record(method, BUCKET_ROUTE, status, seconds),
);

/** Every `path` label value in the output: only the route template and `unmatched` may appear. */
const pathValues = [
  ...new Set(after.samples.flatMap((s) => (s.labels.path === undefined ? [] : [s.labels.path]))),
];

console.log(
  JSON.stringify({
    renders: RENDERS,
    render_ms_median: median(renderMs),
    render_ms_min: Math.min(...renderMs),
    render_ms_max: Math.max(...renderMs),
    exposition_bytes: before.bytes,
    series_before: before.samples.length,
    label_sets_before: labelSets(before.samples).size,
    distinct_ids: DISTINCT,
    distinct_unknown_paths: DISTINCT,
    series_after: after.samples.length,
    label_sets_after: labelSets(after.samples).size,
    requests_counted: requestCount(after.samples) - requestCount(before.samples),
    requests_sent: 4 * DISTINCT,
    path_values_after: pathValues,
    prom_client_observe_ns: promClientNs,
    cells_record_ns: cellsNs,
    only_bounded_paths: pathValues.every((p) => p === BUCKET_ROUTE || p === UNMATCHED_PATH),
  }),
);
