/** createApp(options) -> Elysia: the three bucket routes, timed by the metrics plugin. No listen(). */
import { Elysia } from "elysia";
import type { Registry } from "prom-client";
import { type Config, DEFAULTS } from "./config";
import { downloadBudget } from "./downloads";
import { draining, health, type Lifecycle } from "./drain";
import { collectEvery } from "./garbage";
import { validIds } from "./ids";
import { describeError, type Logger, silentLogger } from "./log";
import { createMetrics, FALLBACK_ROUTE } from "./metrics";
import { RedisStore } from "./redis-store";
import { empty, jsonError, RETRY } from "./responses";
import { MemoryStore, type Store, StoreUnavailable } from "./store";
import { observed } from "./store-metrics";
import { uploadBudget } from "./uploads";

export const ROUTE = "/api/buckets/:id";
const ALLOW = { allow: "GET, HEAD, PUT, DELETE" };
// Bodies are raw bytes whatever the Content-Type: Elysia must not parse them.
const RAW = { parse: "none" } as const;
const notFound = () => jsonError(404, "not found");

export interface AppOptions
  extends Partial<Pick<Config, "maxBodyBytes" | "maxStoreBytes" | "maxInflightBytes" | "storeUrl">> {
  store?: Store;
  /** False leaves the metrics plugin and /metrics out (the benchmark's baseline). */
  metrics?: boolean;
  /** Each app gets its own Registry unless one is given: `bun test` runs every file in one process. */
  registry?: Registry;
  lifecycle?: Lifecycle;
  logger?: Logger;
}

export function createApp(options: AppOptions = {}) {
  const limits = { ...DEFAULTS, ...options };
  // Garbage is bounded by bodies allocated between collections: at most the store, or with Redis the in-flight.
  const collect = collectEvery(limits.storeUrl ? limits.maxInflightBytes : limits.maxStoreBytes);
  const stored =
    options.store ??
    (limits.storeUrl ? new RedisStore(limits.storeUrl, collect) : new MemoryStore(limits.maxStoreBytes));
  const lifecycle = options.lifecycle ?? { ready: true };
  const log = options.logger ?? silentLogger;
  const uploads = uploadBudget(limits, collect);
  const downloads = downloadBudget(limits.maxInflightBytes);
  const metrics = options.metrics === false ? undefined : createMetrics(stored, options.registry);
  const store = metrics ? observed(stored, metrics.registry) : stored;
  // Series the alerts divide by exist at zero from the start, so rate() has a first sample.
  for (const [method = "", status = ""] of ["GET 200", "PUT 200", "DELETE 204"].map((s) => s.split(" ")))
    metrics?.duration.zero({ method, path: ROUTE, status });

  // strictPath: `t1/` is not `t1`. standardHostname: off, it misreads URLs whose Host is under 4 characters.
  return (
    new Elysia({ strictPath: true, handler: { standardHostname: false } })
      .use(draining(lifecycle))
      .use(health(lifecycle, store))
      .use(metrics?.plugin ?? new Elysia())
      .onError({ as: "global" }, ({ code, error, request }) => {
        if (code === "NOT_FOUND") return notFound();
        if (error instanceof StoreUnavailable) return jsonError(503, "store unavailable", RETRY);
        log("error", "request failed with 500", { method: request.method, code, ...describeError(error) });
        return jsonError(500, "internal server error");
      })
      .use(validIds)
      .get(ROUTE, async ({ params, request }) => {
        const bytes = await store.get(params.id);
        return bytes === undefined ? notFound() : downloads.send(bytes, request);
      })
      .put(
        ROUTE,
        async ({ params, request }) => {
          const body = await uploads.read(request);
          if (body instanceof Response) return body;
          return (await store.put(params.id, body)) ? empty(200) : jsonError(507, "store is full");
        },
        RAW,
      )
      .delete(ROUTE, async ({ params }) => ((await store.delete(params.id)) ? empty(204) : notFound()), RAW)
      // Method routes win over all() in Elysia's router, so this answers only the other methods.
      .all(ROUTE, () => jsonError(405, "method not allowed", ALLOW), RAW)
      // A route, not Elysia's NOT_FOUND, so unmatched requests pass the metrics hooks too.
      .all(FALLBACK_ROUTE, notFound, RAW)
  );
}
