/** Operational endpoints: liveness, readiness and the Prometheus scrape. None of them is observed. */
import { Elysia } from "elysia";
import type { Registry } from "prom-client";
import { json } from "./responses";

export const OPS_ROUTES = ["/healthz", "/readyz", "/metrics"] as const;

/** Shared with main.ts, which flips `ready` when shutdown begins. */
export interface Lifecycle {
  ready: boolean;
}

export function opsRoutes(lifecycle: Lifecycle, registry: Registry | undefined) {
  const app = new Elysia()
    // Liveness: answering at all is the signal; it must not depend on anything that can be slow.
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
