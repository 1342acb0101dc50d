/**
 * Metrics: one prom-client Registry per app, and the Elysia plugin that times every request.
 *
 * The plugin is the only place that records requests; route handlers contain no metrics code.
 * Hot-path rules (docs/performance.md): only hooks Elysia compiles inline into each route handler, no
 * allocation per request, label cells resolved through Maps, nothing that can throw out of a hook.
 */
import { Elysia, ElysiaCustomStatusResponse } from "elysia";
import { Gauge, Registry } from "prom-client";
import { describeError, type Logger } from "./log";
import { registerProcessMetrics } from "./process-metrics";
import { RequestDurationHistogram, type RouteSeries } from "./request-duration";
import type { Store } from "./store";

/** The one `path` label value shared by every request that matched no route (keeps cardinality fixed). */
export const UNMATCHED_PATH = "unmatched";

/**
 * Bucket bounds in seconds. A GET or PUT of a small object takes tens of microseconds inside this
 * process, so the low end is 10 µs; the top end (5 s) still separates an 8 MiB upload from a slow
 * client from a stuck one. 0.1 s is a bound on purpose: the latency alert's threshold.
 */
export const DURATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
  0.5, 1, 2.5, 5,
] as const;

export interface MetricsOptions {
  store: Store;
  version: string;
  /** Routes that are not observed: scrapes and probes would drown the API's own traffic. */
  unobservedRoutes: readonly string[];
  /** The catch-all route's template; its requests are recorded as path="unmatched". */
  fallbackRoute?: string;
  /** Series created at zero at start: (method, route template, status). */
  precreated: ReadonlyArray<readonly [string, string, number]>;
  logger: Logger;
  registry?: Registry;
}

export interface Metrics {
  registry: Registry;
  duration: RequestDurationHistogram;
  plugin: ReturnType<typeof metricsPlugin>;
}

export function createMetrics(options: MetricsOptions): Metrics {
  const registry = options.registry ?? new Registry();
  const duration = new RequestDurationHistogram(
    "http_request_duration_seconds",
    "Time from a request reaching its route to its response being ready, by method, route template and status code.",
    DURATION_BUCKETS,
    registry,
  );
  for (const [method, path, status] of options.precreated) duration.precreate(method, path, status);

  const { store } = options;
  new Gauge({
    name: "storage_api_objects",
    help: "Objects currently stored.",
    registers: [registry],
    collect() {
      this.set(store.objects);
    },
  });
  new Gauge({
    name: "storage_api_stored_bytes",
    help: "Payload bytes currently stored.",
    registers: [registry],
    collect() {
      this.set(store.bytes);
    },
  });
  new Gauge({
    name: "storage_api_max_stored_bytes",
    help: "Capacity of the store in payload bytes (MAX_STORE_BYTES); a PUT past it gets 507.",
    registers: [registry],
  }).set(store.maxBytes);
  new Gauge({
    name: "storage_api_build_info",
    help: "Always 1; the labels say which build is running.",
    labelNames: ["version", "bun_version"],
    registers: [registry],
  }).set({ version: options.version, bun_version: Bun.version }, 1);
  registerProcessMetrics(registry);

  return { registry, duration, plugin: metricsPlugin(duration, options) };
}

/** What the plugin adds to Elysia's per-request context object. */
interface Timed {
  metricsStart?: number;
}

/**
 * Times a request from `transform` (the first hook of a matched route) to `mapResponse` (the last hook
 * before Elysia hands the Response to Bun). Both run inline in Elysia's compiled route handler, with no
 * scheduling; `mapResponse` also runs after the error handler has made an error's Response. Unmatched
 * paths are answered by the app's catch-all route, so they pass through the same two hooks.
 * onRequest + onAfterResponse would also cover routing and the response write-out, but cost 2.4 µs per
 * request here against a budget of 1 µs (docs/performance.md).
 */
function metricsPlugin(duration: RequestDurationHistogram, options: MetricsOptions) {
  // Route template -> its series, or null when the route is not observed. The keys are the app's route
  // templates, so the map stays as small as the route table.
  const routes = new Map<string, RouteSeries | null>(options.unobservedRoutes.map((route) => [route, null]));
  const fallback = options.fallbackRoute;
  let reportedFailure = false;
  return (
    new Elysia()
      .onTransform({ as: "global" }, (ctx) => {
        (ctx as Timed).metricsStart = performance.now();
      })
      // Returns nothing, so the response is left as it is.
      .mapResponse({ as: "global" }, (ctx) => {
        try {
          const start = (ctx as Timed).metricsStart;
          const route = ctx.route as string | undefined;
          if (start === undefined || route === undefined) return;
          let series = routes.get(route);
          if (series === undefined) {
            series = duration.route(route === fallback ? UNMATCHED_PATH : route);
            routes.set(route, series);
          }
          if (series === null) return;
          const response = (ctx as { response?: unknown }).response;
          // Never read ctx.set here: Elysia would see it in this hook's source and switch every route to
          // its slower response mapping that merges `set` into each Response (docs/performance.md). The
          // routes return a Response or status(); a plain value counts as 200 (no handler here sets set.status).
          let status = 200;
          if (response instanceof Response) status = response.status;
          // A handler's `return status(code, body)`: Elysia applies the code only after this hook.
          else if (response instanceof ElysiaCustomStatusResponse) status = response.code;
          series.record(ctx.request.method, status, (performance.now() - start) / 1000);
        } catch (error) {
          // A throw here would turn a good response into an error; say it once, not once per request.
          if (!reportedFailure) {
            reportedFailure = true;
            options.logger(
              "error",
              "request metrics failed; further failures are not logged",
              describeError(error),
            );
          }
        }
      })
  );
}
