/**
 * Protects requests in flight at shutdown: they get their answer instead of a reset (with a shared store,
 * an upload cut there would be lost). /readyz turns 503 first, so a load balancer stops sending work.
 */
import { Elysia } from "elysia";
import type { Config } from "./config";
import { describeError, type Logger } from "./log";
import { json, jsonError } from "./responses";
import type { Store } from "./store";

/** Shared with main.ts, which clears `ready` when shutdown begins. */
export interface Lifecycle {
  ready: boolean;
}

/** Liveness and readiness; registered before the metrics plugin, so probes are not observed. */
export function health(lifecycle: Lifecycle, store: Store) {
  const notAllowed = () => jsonError(405, "method not allowed", { allow: "GET, HEAD" });
  return new Elysia()
    .get("/healthz", () => json(200, { status: "ok" }))
    .get("/readyz", async () => {
      if (!lifecycle.ready) return json(503, { status: "shutting down" });
      return (await store.ready())
        ? json(200, { status: "ready" })
        : json(503, { status: "store not ready" });
    })
    .all("/healthz", notAllowed)
    .all("/readyz", notAllowed);
}

/** While draining, each response asks its client to reconnect, so no idle keep-alive is left to be cut. */
export function draining(lifecycle: Lifecycle) {
  return new Elysia().onAfterHandle({ as: "global" }, ({ response }) => {
    if (!lifecycle.ready && response instanceof Response) response.headers.set("connection", "close");
  });
}

type Drainable = { server: { stop(force?: boolean): Promise<void> } | null };
type Timing = Pick<Config, "drainDelayMs" | "shutdownTimeoutMs">;

/** Installed before listening: Bun as PID 1 ignores SIGTERM without a handler. A second signal exits at once. */
export function drainOnSignals(app: Drainable, lifecycle: Lifecycle, config: Timing, log: Logger): void {
  let stopping = false;
  async function shutdown(signal: NodeJS.Signals, code: number): Promise<void> {
    if (stopping) {
      log("warn", "second signal: exiting at once", { signal });
      process.exit(code);
    }
    stopping = true;
    lifecycle.ready = false;
    log("info", "shutting down: draining", { signal, drainDelayMs: config.drainDelayMs });
    await Bun.sleep(config.drainDelayMs);
    // The listener closes at once; connections still open after the timeout (a stuck upload) are cut.
    const force = setTimeout(() => app.server?.stop(true), config.shutdownTimeoutMs);
    await app.server?.stop().catch((error) => log("error", "error while stopping", describeError(error)));
    clearTimeout(force);
    log("info", "stopped", { signal });
    process.exit(0);
  }
  process.on("SIGTERM", () => void shutdown("SIGTERM", 143));
  process.on("SIGINT", () => void shutdown("SIGINT", 130));
}
