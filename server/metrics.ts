/** The app's prom-client Registry and the Elysia plugin that times every API request. */
import { Elysia, ElysiaCustomStatusResponse } from "elysia";
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { describeError, type Logger } from "./log";
import type { Store } from "./store";

/** The one `path` value of every request that matched no route, so clients cannot add series. */
export const UNMATCHED_PATH = "unmatched";

/** Seconds. Small requests take tens of µs here; 0.1 s is the latency alert's threshold. */
export const DURATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5,
];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

/** Default metrics that read zero or describe Node rather than Bun (docs/decisions.md#metrics). */
const FALSE_UNDER_BUN = [
  "nodejs_eventloop_lag_seconds",
  "nodejs_active_resources",
  "nodejs_active_resources_total",
  "nodejs_active_handles",
  "nodejs_active_handles_total",
  "nodejs_active_requests",
  "nodejs_active_requests_total",
  "nodejs_external_memory_bytes",
  "nodejs_heap_space_size_total_bytes",
  "nodejs_heap_space_size_used_bytes",
  "nodejs_heap_space_size_available_bytes",
  "nodejs_gc_duration_seconds",
  "nodejs_version_info",
];

export interface MetricsOptions {
  store: Store;
  version: string;
  /** Route templates left unobserved: scrapes and probes would drown the API's own traffic. */
  unobserved: readonly string[];
  /** The catch-all route's template, recorded as UNMATCHED_PATH. */
  fallback: string;
  /** (method, route, status) series created at zero, so rate() and the alerts have a start. */
  precreated: ReadonlyArray<readonly [string, string, number]>;
  logger: Logger;
  registry?: Registry;
}

export function createMetrics(options: MetricsOptions) {
  const registry = options.registry ?? new Registry();
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from a request reaching its route to its response being ready, by method, route and status.",
    labelNames: ["method", "path", "status"],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  for (const [method, path, status] of options.precreated) duration.zero({ method, path, status });

  const { store } = options;
  gauge(registry, "storage_api_objects", "Objects stored.", () => store.objects);
  gauge(
    registry,
    "storage_api_stored_bytes",
    "Bytes counted against the store's budget: payloads, ids, overhead.",
    () => store.bytes,
  );
  gauge(
    registry,
    "storage_api_max_stored_bytes",
    "The store's budget (MAX_STORE_BYTES); a PUT past it gets 507.",
    () => store.maxBytes,
  );
  new Gauge({
    name: "storage_api_build_info",
    help: "Always 1; the labels say which build is running.",
    labelNames: ["version", "bun_version"],
    registers: [registry],
  }).set({ version: options.version, bun_version: Bun.version }, 1);
  collectDefaultMetrics({ register: registry });
  for (const name of FALSE_UNDER_BUN) registry.removeSingleMetric(name);

  return { registry, plugin: metricsPlugin(duration, options) };
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * Times a request from `transform` to `mapResponse`: both are compiled inline into each route's handler, and
 * `mapResponse` also runs on the error handler's Response (docs/decisions.md#metrics has the hook choice).
 */
function metricsPlugin(duration: Histogram<"method" | "path" | "status">, options: MetricsOptions) {
  const unobserved = new Set(options.unobserved);
  let reportedFailure = false;
  return new Elysia()
    .onTransform({ as: "global" }, (ctx) => {
      (ctx as { metricsStart?: number }).metricsStart = performance.now();
    })
    .mapResponse({ as: "global" }, (ctx) => {
      try {
        const start = (ctx as { metricsStart?: number }).metricsStart;
        const route = ctx.route as string | undefined;
        if (start === undefined || route === undefined || unobserved.has(route)) return;
        // Never read ctx.set here: Elysia would then merge `set` into every Response, a slower path.
        const response = (ctx as { response?: unknown }).response;
        let status = 200;
        if (response instanceof Response) status = response.status;
        else if (response instanceof ElysiaCustomStatusResponse) status = response.code;
        const method = METHODS.has(ctx.request.method) ? ctx.request.method : "OTHER";
        const path = route === options.fallback ? UNMATCHED_PATH : route;
        duration.observe({ method, path, status }, (performance.now() - start) / 1000);
      } catch (error) {
        // A throw here would turn a good response into an error; say it once, not once per request.
        if (!reportedFailure) options.logger("error", "request metrics failed", describeError(error));
        reportedFailure = true;
      }
    });
}
