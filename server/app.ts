/** createApp(options) -> Elysia: metrics first (their hooks see every route), then the routes. No listen(). */
import { Elysia } from "elysia";
import type { Registry } from "prom-client";
import { BUCKET_ROUTE, bucketRoutes } from "./buckets";
import { DEFAULTS } from "./config";
import { describeError, type Logger, silentLogger, throttled } from "./log";
import { createMetrics } from "./metrics";
import { drainPlugin, type Lifecycle, OPS_ROUTES, opsRoutes } from "./ops";
import { jsonError } from "./responses";
import { Store } from "./store";
import { VERSION } from "./version";

const FALLBACK_ROUTE = "/*";
const LOG_INTERVAL_MS = 10_000;

export interface AppOptions {
  maxBodyBytes?: number;
  maxStoreBytes?: number;
  maxInflightBytes?: number;
  /** Injected by tests; otherwise a new Store of maxStoreBytes. */
  store?: Store;
  /** False leaves the metrics plugin and /metrics out (the benchmark's baseline). */
  metrics?: boolean;
  /** Each app gets its own Registry unless one is given: `bun test` runs every file in one process. */
  registry?: Registry;
  lifecycle?: Lifecycle;
  logger?: Logger;
}

export function createApp(options: AppOptions = {}) {
  const store = options.store ?? new Store(options.maxStoreBytes ?? DEFAULTS.maxStoreBytes);
  const lifecycle = options.lifecycle ?? { ready: true };
  const logger = options.logger ?? silentLogger;
  const errors = throttled(logger, LOG_INTERVAL_MS);

  // Elysia by default finds the path at index 11 of the URL, which a Host shorter than 4 characters breaks.
  const app = new Elysia({ handler: { standardHostname: false } });
  let registry: Registry | undefined;
  if (options.metrics !== false) {
    const metrics = createMetrics({
      store,
      version: VERSION,
      unobserved: OPS_ROUTES,
      fallback: FALLBACK_ROUTE,
      precreated: [
        ["GET", BUCKET_ROUTE, 200],
        ["PUT", BUCKET_ROUTE, 200],
        ["DELETE", BUCKET_ROUTE, 204],
      ],
      logger,
      ...(options.registry === undefined ? {} : { registry: options.registry }),
    });
    registry = metrics.registry;
    app.use(metrics.plugin);
  }

  return (
    app
      .use(drainPlugin(lifecycle))
      .onError({ as: "global" }, ({ code, error, request }) => {
        // The catch-all route answers unmatched paths; this keeps a 404 from ever becoming a 500.
        if (code === "NOT_FOUND") return jsonError(404, "not found");
        errors("error", "request failed with 500", { method: request.method, code, ...describeError(error) });
        return jsonError(500, "internal server error");
      })
      .use(opsRoutes(lifecycle, registry))
      .use(
        bucketRoutes({
          store,
          maxBodyBytes: options.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
          maxInflightBytes: options.maxInflightBytes ?? DEFAULTS.maxInflightBytes,
          refusals: throttled(logger, LOG_INTERVAL_MS),
        }),
      )
      // A route, not Elysia's NOT_FOUND, so unmatched requests pass through the metrics hooks too.
      .all(FALLBACK_ROUTE, () => jsonError(404, "not found"), { parse: "none" })
  );
}
