/** RED for the store, whichever runs: every call timed by operation and outcome (bounded labels). */
import { Histogram, type Registry } from "prom-client";
import { DURATION_BUCKETS } from "./metrics";
import { type Store, StoreUnavailable } from "./store";

export function observed(store: Store, registry: Registry): Store {
  const duration = new Histogram({
    name: "storage_api_store_operation_duration_seconds",
    help: "Store calls by operation (get, put, delete, ping) and outcome (ok, full, error, timeout).",
    labelNames: ["operation", "outcome"],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const time = async <T>(operation: string, call: () => Promise<T>, ifFalse = "ok") => {
    const t = performance.now();
    const seen = (outcome: string) => duration.observe({ operation, outcome }, (performance.now() - t) / 1e3);
    const result = await call().catch((error) => {
      seen(error instanceof StoreUnavailable ? error.message : "error");
      throw error;
    });
    seen(result === false ? ifFalse : "ok");
    return result;
  };
  return {
    get: (id) => time("get", () => store.get(id)),
    put: (id, bytes) => time("put", () => store.put(id, bytes), "full"),
    delete: (id) => time("delete", () => store.delete(id)),
    ready: () => time("ping", () => store.ready(), "error"),
    stats: () => store.stats(),
  };
}
