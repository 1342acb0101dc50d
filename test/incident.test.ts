/**
 * The HTTP 500 incident (docs/incident-500.md), replayed at the metrics level.
 *
 * `originalService` reproduces the defective DELETE handler of the user's original (Python) service on top
 * of this project's metrics plugin: 500 after a successful delete, 400 for an unknown id. The same traffic
 * then goes to the real app. The assertions are what the dashboard's "HTTP Status Codes" panel and the
 * `sum by (path, method, status)` query show in each case.
 */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { BUCKET_ROUTE } from "../server/buckets";
import { silentLogger } from "../server/log";
import { createMetrics } from "../server/metrics";
import { Store } from "../server/store";
import { testApp } from "./support/app";
import { parseExposition, type Sample } from "./support/exposition";

function originalService() {
  const store = new Store(1024 * 1024);
  const metrics = createMetrics({
    store,
    version: "original",
    unobservedRoutes: [],
    precreated: [],
    logger: silentLogger,
  });
  const app = new Elysia()
    .use(metrics.plugin)
    .put(
      BUCKET_ROUTE,
      async ({ params, request }) => {
        store.put(params.id, await request.bytes());
        return new Response(null);
      },
      { parse: "none" },
    )
    .get(BUCKET_ROUTE, ({ params }) => {
      const data = store.get(params.id);
      return data === undefined ? Response.json({ error: "not found" }, { status: 404 }) : new Response(data);
    })
    .delete(BUCKET_ROUTE, ({ params }) =>
      store.delete(params.id)
        ? Response.json({ status: "deleted" }, { status: 500 }) // the defect: success reported as 500
        : Response.json({ error: "no such bucket" }, { status: 400 }),
    );
  return {
    request: (method: string, path: string, init: RequestInit = {}) =>
      app.handle(new Request(`http://original.test${path}`, { method, ...init })),
    samples: async () => parseExposition(await metrics.registry.metrics()),
  };
}

/** The traffic script's shape (PUT -> GET -> DELETE on ids 1-8), plus a few DELETEs of unknown ids. */
async function traffic(request: (method: string, path: string, init?: RequestInit) => Promise<Response>) {
  for (let cycle = 0; cycle < 40; cycle++) {
    const id = (cycle % 8) + 1;
    await request("PUT", `/api/buckets/${id}`, { body: `payload ${cycle}` });
    await request("GET", `/api/buckets/${id}`);
    await request("DELETE", `/api/buckets/${id}`);
  }
  for (let i = 0; i < 4; i++) await request("DELETE", `/api/buckets/never-${i}`);
}

/** sum by (path, method, status) of the request counter, as "METHOD status" -> count. */
function byRouteAndStatus(samples: Sample[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const s of samples) {
    if (s.name !== "http_request_duration_seconds_count" || s.value === 0) continue;
    const key = `${s.labels.method} ${s.labels.path} ${s.labels.status}`;
    sums[key] = (sums[key] ?? 0) + s.value;
  }
  return sums;
}

describe("the 500 incident", () => {
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
