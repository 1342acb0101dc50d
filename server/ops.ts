/** Liveness, readiness and the Prometheus scrape (none of them observed), and the drain after SIGTERM. */
import { Elysia } from "elysia";
import type { Registry } from "prom-client";
import { json } from "./responses";

export const OPS_ROUTES = ["/healthz", "/readyz", "/metrics"];

/** Shared with main.ts, which clears `ready` when shutdown begins. */
export interface Lifecycle {
  ready: boolean;
}

export function opsRoutes(lifecycle: Lifecycle, registry: Registry | undefined) {
  const app = new Elysia()
    // Answering at all is the liveness signal; it must not depend on anything that can be slow.
    .get("/healthz", () => json(200, { status: "ok" }))
    .get("/readyz", () =>
      lifecycle.ready ? json(200, { status: "ready" }) : json(503, { status: "shutting down" }),
    );
  if (registry === undefined) return app;
  return app.get(
    "/metrics",
    async () => new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } }),
  );
}

/** While draining, each response asks its client to reconnect, so no idle keep-alive is left to be cut. */
export function drainPlugin(lifecycle: Lifecycle) {
  return new Elysia().onAfterHandle({ as: "global" }, ({ response }) => {
    if (!lifecycle.ready && response instanceof Response) response.headers.set("connection", "close");
  });
}
