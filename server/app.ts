/**
 * createApp(options) -> Elysia: the metrics plugin first (so its hooks see every route), then the error
 * handler, the routes and the catch-all 404 route. No listen() here: tests drive it through app.handle().
 */
import { Elysia } from "elysia";
import type { Registry } from "prom-client";
import { BUCKET_ROUTE, bucketRoutes } from "./buckets";
import { DEFAULTS } from "./config";
import { FALLBACK_ROUTE, fallbackRoute } from "./fallback";
import { describeError, type Logger, silentLogger } from "./log";
import { createMetrics } from "./metrics";
import { type Lifecycle, OPS_ROUTES, opsRoutes } from "./ops";
import { jsonError } from "./responses";
import { Store } from "./store";
import { VERSION } from "./version";

export interface AppOptions {
  maxBodyBytes?: number;
  maxStoreBytes?: number;
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
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  const store = options.store ?? new Store(options.maxStoreBytes ?? DEFAULTS.maxStoreBytes);
  const lifecycle = options.lifecycle ?? { ready: true };
  const logger = options.logger ?? silentLogger;

  const app = new Elysia();
  let registry: Registry | undefined;
  if (options.metrics !== false) {
    const metrics = createMetrics({
      store,
      version: VERSION,
      unobservedRoutes: OPS_ROUTES,
      fallbackRoute: FALLBACK_ROUTE,
      // The success series of each route, so rate() and the error-ratio alert have a zero to start from.
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

  return app
    .onError({ as: "global" }, ({ code, error, request }) => {
      // Not reached while fallbackRoute() answers every unmatched path; kept so a 404 never becomes a 500.
      if (code === "NOT_FOUND") return jsonError(404, "not found");
      logger("error", "request failed with 500", {
        status: 500,
        method: request.method,
        url: request.url,
        code,
        ...describeError(error),
      });
      return jsonError(500, "internal server error");
    })
    .use(opsRoutes(lifecycle, registry))
    .use(bucketRoutes({ store, maxBodyBytes, logger }))
    .use(fallbackRoute());
}
