/** The app's prom-client Registry, `GET /metrics`, and the Elysia plugin that times every API request. */
import { Elysia } from "elysia";
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Store } from "./store";
import { VERSION } from "./version";

/** The catch-all route, and the one `path` value of every request it answers: clients cannot add series. */
export const FALLBACK_ROUTE = "/*";
export const UNMATCHED_PATH = "unmatched";

/** Seconds. Small requests take tens of µs here; 0.1 s is the latency alert's threshold. */
export const DURATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5,
];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

/** Default metrics that read zero or describe Node rather than Bun (docs/decisions.md#metrics). */
const FALSE_UNDER_BUN = /^nodejs_(active_|heap_space_|external_memory|gc_|version_info)/;

const STORE_GAUGES = [
  ["storage_api_objects", "Objects stored.", "objects"],
  ["storage_api_stored_bytes", "Bytes counted against the store's budget: payloads, ids, overhead.", "bytes"],
  [
    "storage_api_max_stored_bytes",
    "The store's budget, MAX_STORE_BYTES; a PUT past it gets 507.",
    "maxBytes",
  ],
] as const;

type Timed = { metricsStart?: number; response?: unknown };

export function createMetrics(store: Store, registry = new Registry()) {
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from a request reaching its route to its response being ready, by method, route and status.",
    labelNames: ["method", "path", "status"],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  for (const [name, help, key] of STORE_GAUGES) {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [registry],
      collect: async () => gauge.set((await store.stats())[key]),
    });
  }
  new Gauge({
    name: "storage_api_build_info",
    help: "Always 1; the labels say which build is running.",
    labelNames: ["version", "bun_version"],
    registers: [registry],
  }).set({ version: VERSION, bun_version: Bun.version }, 1);
  collectDefaultMetrics({ register: registry });
  for (const { name } of registry.getMetricsAsArray())
    if (FALSE_UNDER_BUN.test(name)) registry.removeSingleMetric(name);

  const exposition = { "content-type": registry.contentType };
  // transform and mapResponse are compiled inline into each route; mapResponse also sees the error handler's answer.
  const plugin = new Elysia()
    // Registered before the hooks, so scrapes are not observed.
    .get("/metrics", async () => new Response(await registry.metrics(), { headers: exposition }))
    .onTransform({ as: "global" }, (ctx) => {
      (ctx as Timed).metricsStart = performance.now();
    })
    .mapResponse({ as: "global" }, (ctx) => {
      const { metricsStart, response } = ctx as Timed;
      if (metricsStart === undefined) return;
      // Never read ctx.set here: Elysia would then merge `set` into every Response, a slower path.
      // Every handler here returns a Response; anything else would be Elysia's default 200.
      const status = response instanceof Response ? response.status : 200;
      // An upload its client abandoned: nobody received the 400.
      if (status === 400 && ctx.request.signal.aborted) return;
      const method = METHODS.has(ctx.request.method) ? ctx.request.method : "OTHER";
      const path = ctx.route === FALLBACK_ROUTE ? UNMATCHED_PATH : ctx.route;
      duration.observe({ method, path, status }, (performance.now() - metricsStart) / 1000);
    });
  return { registry, duration, plugin };
}
