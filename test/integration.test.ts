/**
 * The dashboard end to end, minus Grafana: a REAL Prometheus scrapes the REAL server (`bun server/main.ts`)
 * while traffic shaped like scripts/generate_traffic.sh runs, then EVERY query of
 * dashboards/storage-api.json is evaluated by that Prometheus and must return numbers. This is what
 * catches a query that is valid PromQL but matches nothing: a misspelled metric or label, a wrong job.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { queries } from "./support/dashboard";
import { PROMETHEUS, skipWithout } from "./support/prerequisites";
import { type RunningPrometheus, startPrometheus } from "./support/prometheus";
import { type RunningServer, startServer } from "./support/server";

/** Faster than the 5s of the real stack so the test needs seconds, not half a minute. */
const SCRAPE_INTERVAL_MS = 1000;

/**
 * What `$__rate_interval` becomes. Grafana would pick max($__interval + scrape interval, 4 x scrape
 * interval), i.e. 4s here at most zoom levels; 15s instead spans all traffic rounds with room to spare
 * on a slow CI machine, so every series has samples before and after its last increase.
 */
const GRAFANA_VARIABLES: Record<string, string> = { $__rate_interval: "15s" };

/** Rounds of traffic, each followed by a scrape, so series created in one round grow in the next. */
const ROUNDS = 4;

function substituteGrafanaVariables(expr: string): string {
  let result = expr;
  for (const [name, value] of Object.entries(GRAFANA_VARIABLES)) result = result.replaceAll(name, value);
  if (result.includes("$")) {
    throw new Error(`unknown Grafana variable in ${expr}: add it to GRAFANA_VARIABLES`);
  }
  return result;
}

/** The first query of a panel: for the two user-requested panels, the exact definition asked for. */
function firstQueryOf(panel: string): string {
  const found = queries.find((query) => query.panel === panel);
  if (found === undefined) throw new Error(`no query in a panel titled ${panel}`);
  return found.expr;
}

/** Polls until check() returns a value (not undefined), or throws after timeoutMs with what it waited for. */
async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/**
 * One round shaped like scripts/generate_traffic.sh: PUT -> GET -> DELETE cycles on buckets 1..8, a GET of
 * a deleted bucket (404), an unknown path (404, path="unmatched") and a wrong method (405).
 * Returns how often each status code came back, for failure messages.
 */
async function trafficRound(baseUrl: string): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  const send = async (method: string, path: string, body?: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method, body, signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
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
  return statuses;
}

// Without prometheus the queries go unchecked: a skip locally (the preload names it), a failure in CI.
describe.skipIf(skipWithout(PROMETHEUS))("dashboard queries on a real Prometheus", () => {
  let server: RunningServer | undefined;
  let prometheus: RunningPrometheus | undefined;
  /** One evaluation time for every query, so they all see the same data. */
  let evaluatedAt = 0;
  const statusesSent: Record<number, number> = {};

  const query = (expr: string) => {
    if (prometheus === undefined) throw new Error("prometheus did not start");
    return prometheus.query(expr, evaluatedAt);
  };

  beforeAll(async () => {
    if (PROMETHEUS === null) {
      throw new Error("CI is set but `prometheus` is not on PATH: install the Debian package prometheus");
    }
    server = await startServer();
    prometheus = await startPrometheus({
      binary: PROMETHEUS,
      jobName: "storage_api",
      target: new URL(server.url).host,
      scrapeInterval: `${SCRAPE_INTERVAL_MS / 1000}s`,
    });
    const running = prometheus;
    // Timestamp (ms) of the newest scrape of the API, if it succeeded. timestamp() must take the bare
    // selector: applied to an expression such as `up == 1` it returns the evaluation time instead.
    const lastScrapeMs = async () => {
      const [sample] = await running.query('timestamp(up{job="storage_api"}) and up{job="storage_api"} == 1');
      return sample === undefined ? undefined : Number(sample.value[1]) * 1000;
    };
    try {
      // A first scrape before any traffic: the zero baseline that makes the first round count in rate().
      // Prometheus applies new scrape targets on a 5s tick, so the first scrape can take that long.
      await waitFor("the first scrape of the API", 10_000, lastScrapeMs);
      for (let round = 0; round < ROUNDS; round++) {
        for (const [status, count] of Object.entries(await trafficRound(server.url))) {
          statusesSent[Number(status)] = (statusesSent[Number(status)] ?? 0) + count;
        }
        // A scrape that STARTED after the round ended holds all of it (a sample's timestamp is its
        // scrape's start). Waiting for that, not for a fixed time, keeps the test exact and quick.
        const roundEnd = Date.now();
        await waitFor(`a scrape after traffic round ${round + 1}`, 5 * SCRAPE_INTERVAL_MS, async () => {
          const scraped = await lastScrapeMs();
          return scraped !== undefined && scraped > roundEnd ? scraped : undefined;
        });
      }
    } catch (error) {
      throw new Error(
        `${String(error)}\nprometheus log (last lines):\n${running.log().split("\n").slice(-20).join("\n")}`,
      );
    }
    evaluatedAt = Date.now() / 1000;
  }, 45_000);

  afterAll(async () => {
    await prometheus?.stop();
    await server?.stop();
  }, 20_000);

  test("the traffic produced the responses the dashboard is about", () => {
    // Diagnostic guard: if the server answered differently, the checks below would fail confusingly.
    expect(Object.keys(statusesSent).sort()).toEqual(["200", "204", "404", "405"]);
  });

  for (const { panel, refId, expr } of queries) {
    test(`${panel} [${refId}] returns numbers`, async () => {
      const result = await query(substituteGrafanaVariables(expr));
      expect({ expr, series: result.length }).not.toEqual({ expr, series: 0 });
      for (const { metric, value } of result) {
        expect({ metric, value: value[1], finite: Number.isFinite(Number(value[1])) }).toEqual({
          metric,
          value: value[1],
          finite: true,
        });
      }
    });
  }

  test("HTTP Status Codes shows 200, 204 and 404 with a rate above zero", async () => {
    const expr = firstQueryOf("HTTP Status Codes");
    const rates = Object.fromEntries(
      (await query(substituteGrafanaVariables(expr))).map(({ metric, value }) => [
        metric.status,
        Number(value[1]),
      ]),
    );
    for (const status of ["200", "204", "404"]) {
      expect({ status, positive: (rates[status] ?? 0) > 0 }).toEqual({ status, positive: true });
    }
  });

  test("Average HTTP Request Duration is a positive number of seconds below one", async () => {
    const expr = firstQueryOf("Average HTTP Request Duration");
    const result = await query(substituteGrafanaVariables(expr));
    expect(result).toHaveLength(1);
    const seconds = Number(result[0]?.value[1]);
    expect(Number.isFinite(seconds)).toBe(true);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(1);
  });
});
