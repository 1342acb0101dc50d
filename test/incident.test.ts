/**
 * The HTTP 500 incident (docs/incident-500.md), replayed. `originalService()` answers DELETE exactly as
 * the original Flask handler did, on this project's real metrics plugin; the same traffic then goes to
 * the real app. Every figure the write-up quotes is asserted here or in prometheus/alerts.test.yml.
 */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { createMetrics } from "../server/metrics";
import { Store } from "../server/store";
import { testApp } from "./support/app";
import { parseExposition, type Sample } from "./support/exposition";

const ROUTE = "/api/buckets/:id";

/**
 * A standalone Elysia app with the real metrics plugin rather than a route added to createApp(): Elysia
 * 1.4 drops a route registered twice for one method and path, so the original DELETE cannot replace ours.
 */
function originalService() {
  // The data lives in a Map, like the original's dict; the Store only feeds the plugin's gauges.
  const objects = new Map<string, Uint8Array>();
  const metrics = createMetrics({
    store: new Store(1024 * 1024),
    version: "original",
    unobserved: [],
    fallback: "/*",
    precreated: [],
    logger: () => {},
  });
  const app = new Elysia()
    .use(metrics.plugin)
    // PUT and GET are stand-ins that succeed with 200; only the DELETE handler is the original's.
    .put(
      ROUTE,
      async ({ params, request }) => {
        objects.set(params.id, await request.bytes());
        return new Response(null);
      },
      { parse: "none" },
    )
    .get(ROUTE, ({ params }) => {
      const data = objects.get(params.id);
      return new Response(data ?? null, { status: data === undefined ? 404 : 200 });
    })
    .delete(ROUTE, ({ params }) =>
      objects.delete(params.id)
        ? // Flask's `return "", 500`: an empty body with Flask's default text/html mimetype.
          new Response("", { status: 500, headers: { "content-type": "text/html; charset=utf-8" } })
        : // Flask's `jsonify({"error": "bad request"}), 400` outside debug mode: compact JSON and "\n".
          new Response('{"error":"bad request"}\n', {
            status: 400,
            headers: { "content-type": "application/json" },
          }),
    );
  return {
    request: (method: string, path: string, init: RequestInit = {}) =>
      app.handle(new Request(`http://original.test${path}`, { method, ...init })),
    samples: async () => parseExposition(await metrics.registry.metrics()),
  };
}

type Send = (method: string, path: string, init?: RequestInit) => Promise<Response>;

/** The traffic script's shape (scripts/generate_traffic.sh): PUT -> GET -> DELETE on ids 1-8. */
async function scriptCycles(request: Send) {
  for (let cycle = 0; cycle < 40; cycle++) {
    const id = (cycle % 8) + 1;
    await request("PUT", `/api/buckets/${id}`, { body: `payload ${cycle}` });
    await request("GET", `/api/buckets/${id}`);
    await request("DELETE", `/api/buckets/${id}`);
  }
}

/** The script's cycles plus four DELETEs of ids that never existed, so the unknown-id answer shows too. */
async function traffic(request: Send) {
  await scriptCycles(request);
  for (let i = 0; i < 4; i++) await request("DELETE", `/api/buckets/never-${i}`);
}

const requestCounts = (samples: Sample[]) =>
  samples.filter((s) => s.name === "http_request_duration_seconds_count" && s.value > 0);

/** sum by (path, method, status) of the request counter, as "METHOD path status" -> count. */
function byRouteAndStatus(samples: Sample[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const s of requestCounts(samples)) {
    const key = `${s.labels.method} ${s.labels.path} ${s.labels.status}`;
    sums[key] = (sums[key] ?? 0) + s.value;
  }
  return sums;
}

/** Each status's share of all requests: the "HTTP Status Codes" panel at steady traffic. */
function statusShares(samples: Sample[]): Record<string, number> {
  const counts = requestCounts(samples);
  const total = counts.reduce((sum, s) => sum + s.value, 0);
  const byStatus: Record<string, number> = {};
  for (const s of counts) {
    const status = s.labels.status ?? "";
    byStatus[status] = (byStatus[status] ?? 0) + s.value;
  }
  return Object.fromEntries(Object.entries(byStatus).map(([status, count]) => [status, count / total]));
}

/** The alert's per-(method, path) ratio of 5xx answers to all answers. */
function errorRatioByRoute(samples: Sample[]): Record<string, number> {
  const totals: Record<string, [errors: number, all: number]> = {};
  for (const s of requestCounts(samples)) {
    const key = `${s.labels.method} ${s.labels.path}`;
    const [errors, all] = totals[key] ?? [0, 0];
    totals[key] = [errors + (s.labels.status?.startsWith("5") ? s.value : 0), all + s.value];
  }
  return Object.fromEntries(Object.entries(totals).map(([key, [errors, all]]) => [key, errors / all]));
}

const bytes = async (response: Response) => new Uint8Array(await response.arrayBuffer());

describe("the 500 incident", () => {
  test("the original DELETE answers byte for byte like Flask: 500 and no body, then 400 on the retry", async () => {
    const original = originalService();
    await original.request("PUT", "/api/buckets/1", { body: "x" });

    const deleted = await original.request("DELETE", "/api/buckets/1");
    expect(deleted.status).toBe(500);
    expect(deleted.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await bytes(deleted)).toEqual(new Uint8Array(0));

    // The delete did happen: a client retrying the "failed" DELETE is told the id is unknown.
    const retried = await original.request("DELETE", "/api/buckets/1");
    expect(retried.status).toBe(400);
    expect(retried.headers.get("content-type")).toBe("application/json");
    expect(await bytes(retried)).toEqual(new TextEncoder().encode('{"error":"bad request"}\n'));
  });

  test("with the traffic script's cycles, 200 is two thirds of the requests and 500 one third", async () => {
    const original = originalService();
    await scriptCycles(original.request);
    const samples = await original.samples();
    expect(statusShares(samples)).toEqual({ "200": 2 / 3, "500": 1 / 3 });
    expect(errorRatioByRoute(samples)).toEqual({
      "PUT /api/buckets/:id": 0,
      "GET /api/buckets/:id": 0,
      "DELETE /api/buckets/:id": 1,
    });
  });

  test("the original DELETE handler shows up as one 500 per successful delete and 400 per unknown id", async () => {
    const original = originalService();
    await traffic(original.request);
    expect(byRouteAndStatus(await original.samples())).toEqual({
      "PUT /api/buckets/:id 200": 40,
      "GET /api/buckets/:id 200": 40,
      "DELETE /api/buckets/:id 500": 40,
      "DELETE /api/buckets/:id 400": 4,
    });
  });

  test("the fixed service answers the same traffic with 204 and 404, and no 5xx at all", async () => {
    const fixed = testApp();
    await traffic(fixed.request);
    expect(byRouteAndStatus(await fixed.samples())).toEqual({
      "PUT /api/buckets/:id 200": 40,
      "GET /api/buckets/:id 200": 40,
      "DELETE /api/buckets/:id 204": 40,
      "DELETE /api/buckets/:id 404": 4,
    });
  });
});
