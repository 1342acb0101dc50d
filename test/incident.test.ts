/**
 * The HTTP 500 incident (docs/incident-500.md), replayed. `originalService()` answers DELETE as the original
 * Flask handler did — expectations written by hand from Flask's documented behaviour — on this project's
 * real metrics plugin; the same traffic then goes to the real app.
 */
import { describe, expect, test } from "bun:test";
import { Elysia } from "elysia";
import { createMetrics } from "../server/metrics";
import { MemoryStore } from "../server/store";
import { testApp } from "./support/app";
import { parseExposition, type Sample } from "./support/exposition";

const ROUTE = "/api/buckets/:id";

/** A standalone app: Elysia drops a route registered twice, so the original DELETE cannot replace ours. */
function originalService() {
  const objects = new Map<string, Uint8Array>();
  const metrics = createMetrics(new MemoryStore(1024));
  const app = new Elysia()
    .use(metrics.plugin)
    // PUT and GET are stand-ins that succeed with 200; only the DELETE handler is the original's.
    .put(
      ROUTE,
      async ({ params, request }) => objects.set(params.id, await request.bytes()) && new Response(null),
      {
        parse: "none",
      },
    )
    .get(ROUTE, ({ params }) => new Response(objects.get(params.id) ?? null))
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

/** The traffic script's shape (scripts/generate_traffic.sh): PUT -> GET -> DELETE on ids 1-8, 40 cycles. */
async function scriptCycles(request: Send, unknownDeletes = 0) {
  for (let cycle = 0; cycle < 40; cycle++) {
    const id = (cycle % 8) + 1;
    await request("PUT", `/api/buckets/${id}`, { body: `payload ${cycle}` });
    await request("GET", `/api/buckets/${id}`);
    await request("DELETE", `/api/buckets/${id}`);
  }
  for (let i = 0; i < unknownDeletes; i++) await request("DELETE", `/api/buckets/never-${i}`);
}

/** sum by (method, path, status) of the request counter, as "METHOD path status" -> count. */
function byRouteAndStatus(samples: Sample[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const s of samples.filter((s) => s.name === "http_request_duration_seconds_count" && s.value > 0)) {
    const key = `${s.labels.method} ${s.labels.path} ${s.labels.status}`;
    sums[key] = (sums[key] ?? 0) + s.value;
  }
  return sums;
}

describe("the 500 incident", () => {
  test("the original DELETE answers as the Flask handler did: 500 and no body, then 400 on the retry", async () => {
    const original = originalService();
    await original.request("PUT", "/api/buckets/1", { body: "x" });
    const deleted = await original.request("DELETE", "/api/buckets/1");
    expect([deleted.status, deleted.headers.get("content-type"), await deleted.text()]).toEqual([
      500,
      "text/html; charset=utf-8",
      "",
    ]);
    // The delete did happen: a client retrying the "failed" DELETE is told the id is unknown.
    const retried = await original.request("DELETE", "/api/buckets/1");
    expect([retried.status, retried.headers.get("content-type"), await retried.text()]).toEqual([
      400,
      "application/json",
      '{"error":"bad request"}\n',
    ]);
  });

  test("with the traffic script's cycles, 200 is two thirds of the requests, 500 one third, all of it DELETE", async () => {
    const original = originalService();
    await scriptCycles(original.request);
    expect(byRouteAndStatus(await original.samples())).toEqual({
      [`PUT ${ROUTE} 200`]: 40,
      [`GET ${ROUTE} 200`]: 40,
      [`DELETE ${ROUTE} 500`]: 40,
    });
  });

  test("one 500 per successful delete and one 400 per unknown id; the fixed service answers 204 and 404, no 5xx", async () => {
    const original = originalService();
    await scriptCycles(original.request, 4);
    const expected = (deleted: number, unknown: number) => ({
      [`PUT ${ROUTE} 200`]: 40,
      [`GET ${ROUTE} 200`]: 40,
      [`DELETE ${ROUTE} ${deleted}`]: 40,
      [`DELETE ${ROUTE} ${unknown}`]: 4,
    });
    expect(byRouteAndStatus(await original.samples())).toEqual(expected(500, 400));
    const fixed = testApp();
    await scriptCycles(fixed.request, 4);
    expect(byRouteAndStatus(await fixed.samples())).toEqual(expected(204, 404));
  });
});
