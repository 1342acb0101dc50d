/**
 * The dashboard end to end, minus Grafana: a real Prometheus scrapes the real server while traffic shaped like
 * scripts/generate_traffic.sh runs, then every query of dashboards/storage-api.json must return numbers there.
 * This catches a query that is valid PromQL but matches nothing: a misspelled metric or label, a wrong job.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queries } from "./support/dashboard";
import { PROMETHEUS, skipWithout } from "./support/prerequisites";
import { type RunningPrometheus, startPrometheus, waitFor } from "./support/prometheus";
import { type RunningServer, startServer } from "./support/server";

/** Faster than the real stack's 5 s, so the test needs seconds. */
const SCRAPE_INTERVAL_MS = 1000;

/** PUT -> GET -> DELETE cycles on buckets 1..8, a GET of a deleted bucket, an unknown path and a 405. */
async function trafficRound(baseUrl: string, statuses: Set<number>): Promise<void> {
  const send = async (method: string, path: string, body?: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method, body, signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    statuses.add(response.status);
  };
  await Promise.all(
    Array.from({ length: 8 }, async (_, index) => {
      const bucket = `/api/buckets/${index + 1}`;
      for (let cycle = 0; cycle < 3; cycle++) {
        await send("PUT", bucket, "x".repeat(256 * (index + 1)));
        await send("GET", bucket);
        await send("DELETE", bucket);
      }
      await send("GET", bucket);
    }),
  );
  await send("GET", "/no/such/path");
  await send("POST", "/api/buckets/1");
}

// Without prometheus the queries go unchecked: a skip locally (the preload names it), a failure in CI.
describe.skipIf(skipWithout(PROMETHEUS))("dashboard queries on a real Prometheus", () => {
  let server: RunningServer | undefined;
  let prometheus: RunningPrometheus | undefined;
  /** One evaluation time for every query, so they all see the same data. */
  let evaluatedAt = 0;
  const statuses = new Set<number>();
  const query = (expr: string) => {
    if (prometheus === undefined) throw new Error("prometheus did not start");
    // Grafana's `$__rate_interval` would be about 4 s here; 15 s spans all rounds even on a slow CI machine.
    return prometheus.query(expr.replaceAll("$__rate_interval", "15s"), evaluatedAt);
  };

  beforeAll(async () => {
    server = await startServer();
    const running = await startPrometheus(
      "storage_api",
      new URL(server.url).host,
      `${SCRAPE_INTERVAL_MS / 1000}s`,
    );
    prometheus = running;
    // The newest successful scrape's start (ms). timestamp() must take the bare selector, not `up == 1`.
    const lastScrapeMs = async () => {
      const [sample] = await running.query('timestamp(up{job="storage_api"}) and up{job="storage_api"} == 1');
      return sample === undefined ? undefined : Number(sample.value[1]) * 1000;
    };
    try {
      // A scrape before any traffic is the zero that makes the first round count in rate(); new targets
      // are applied on a 5 s tick. Then each round is followed by a scrape that started after it ended.
      await waitFor("the first scrape of the API", 10_000, lastScrapeMs);
      for (let round = 0; round < 4; round++) {
        await trafficRound(server.url, statuses);
        const roundEnd = Date.now();
        await waitFor(`a scrape after round ${round + 1}`, 5 * SCRAPE_INTERVAL_MS, async () => {
          const scraped = await lastScrapeMs();
          return scraped !== undefined && scraped > roundEnd ? scraped : undefined;
        });
      }
    } catch (error) {
      throw new Error(
        `${String(error)}\nprometheus log:\n${running.log().split("\n").slice(-20).join("\n")}`,
      );
    }
    // Diagnostic: had the server answered otherwise, the checks below would fail confusingly.
    expect([...statuses].sort()).toEqual([200, 204, 404, 405]);
    evaluatedAt = Date.now() / 1000;
  }, 45_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.stop();
  }, 20_000);

  for (const { panel, refId, expr } of queries) {
    test(`${panel} [${refId}] returns numbers`, async () => {
      const result = await query(expr);
      expect({ expr, series: result.length }).not.toEqual({ expr, series: 0 });
      for (const { metric, value } of result)
        expect({ metric, finite: Number.isFinite(Number(value[1])) }).toEqual({ metric, finite: true });
    });
  }

  test("HTTP Status Codes shows 200, 204 and 404 with a rate above zero; the average duration is under 1 s", async () => {
    const first = (panel: string) => queries.find((q) => q.panel === panel)?.expr ?? `no panel ${panel}`;
    const rates = await query(first("HTTP Status Codes"));
    const rate = (status: string) => Number(rates.find((r) => r.metric.status === status)?.value[1] ?? 0);
    for (const status of ["200", "204", "404"])
      expect({ status, positive: rate(status) > 0 }).toEqual({ status, positive: true });
    const duration = await query(first("Average HTTP Request Duration"));
    expect(duration).toHaveLength(1);
    const seconds = Number(duration[0]?.value[1]);
    expect(seconds > 0 && seconds < 1).toBe(true);
  });
});

/** "Instances Up" reads 0, not "No data", when Prometheus has no storage_api target at all (a Pending pod). */
test.skipIf(skipWithout(PROMETHEUS))(
  "Instances Up reads 0 on a Prometheus with no API target",
  async () => {
    // Another job, scraping a closed port: Prometheus has data, none of it from job storage_api.
    const prometheus = await startPrometheus("something_else", "127.0.0.1:1", "1s");
    try {
      const scraped = async () => ((await prometheus.query("up")).length > 0 ? true : undefined);
      await waitFor("a scrape", 10_000, scraped);
      expect(await prometheus.query('up{job="storage_api"}')).toEqual([]);
      const expr = queries.find(({ panel }) => panel === "Instances Up")?.expr ?? "no panel";
      expect((await prometheus.query(expr)).map((sample) => sample.value[1])).toEqual(["0"]);
    } finally {
      await prometheus.stop();
    }
  },
  30_000,
);
