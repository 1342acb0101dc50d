/**
 * The HTTP 500 incident (docs/incident-500.md), replayed. `originalService()` answers DELETE as the original
 * Flask handler did — expectations written by hand from Flask's documented behaviour — on this project's
 * real metrics plugin; the same traffic then goes to the real app.
 */
import { expect, test } from "bun:test";
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
      async ({ params, request }) => new Response(void objects.set(params.id, await request.bytes())),
    )
    .get(ROUTE, ({ params }) => new Response(objects.get(params.id) ?? null))
    .delete(ROUTE, ({ params }) => {
      const json = { "content-type": "application/json" };
      // Flask's `return "", 500` (its default mimetype is text/html) and, outside debug mode,
      // `jsonify({"error": "bad request"}), 400` (compact JSON and a newline).
      if (objects.delete(params.id))
        return new Response("", { status: 500, headers: { "content-type": "text/html; charset=utf-8" } });
      return new Response('{"error":"bad request"}\n', { status: 400, headers: json });
    });
  return {
    request: (method: string, path: string, init: RequestInit = {}) =>
      app.handle(new Request(`http://original.test${path}`, { method, ...init })),
    samples: async () => parseExposition(await metrics.registry.metrics()),
  };
}

type Send = (method: string, path: string, init?: RequestInit) => Promise<Response>;

/** The traffic script's shape (scripts/generate_traffic.sh), 40 cycles on ids 1-8; then a DELETE and its retry. */
async function replay(request: Send) {
  for (let cycle = 0; cycle < 40; cycle++) {
    const id = (cycle % 8) + 1;
    await request("PUT", `/api/buckets/${id}`, { body: `payload ${cycle}` });
    await request("GET", `/api/buckets/${id}`);
    await request("DELETE", `/api/buckets/${id}`);
  }
  await request("PUT", "/api/buckets/1", { body: "x" });
  const answers = [];
  for (const path of ["/api/buckets/1", "/api/buckets/1", "/api/buckets/never-1", "/api/buckets/never-2"]) {
    const r = await request("DELETE", path);
    answers.push(`${r.status} ${r.headers.get("content-type")} ${await r.text()}`);
  }
  return answers.slice(0, 2);
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

test("the original DELETE answers 500 and no body, its retry 400: one 500 per successful delete (a third of the script's traffic), one 400 per unknown id; the fix answers 204 and 404", async () => {
  const [original, fixed] = [originalService(), testApp()];
  // The delete did happen: a client retrying the "failed" DELETE is told the id is unknown.
  expect(await replay(original.request)).toEqual([
    "500 text/html; charset=utf-8 ",
    '400 application/json {"error":"bad request"}\n',
  ]);
  const expected = (deleted: number, unknown: number) => ({
    [`PUT ${ROUTE} 200`]: 41,
    [`GET ${ROUTE} 200`]: 40,
    [`DELETE ${ROUTE} ${deleted}`]: 41,
    [`DELETE ${ROUTE} ${unknown}`]: 3,
  });
  expect(byRouteAndStatus(await original.samples())).toEqual(expected(500, 400));
  expect(await replay(fixed.request)).toEqual(["204 null ", '404 application/json {"error":"not found"}']);
  expect(byRouteAndStatus(await fixed.samples())).toEqual(expected(204, 404));
});
