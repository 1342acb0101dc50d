/**
 * The catch-all route: every request no other route matches gets a JSON 404 here.
 *
 * A route rather than Elysia's NOT_FOUND error, so that unmatched requests pass through a compiled route
 * handler and its inline metrics hooks like every other request (server/metrics.ts); they are recorded
 * as path="unmatched". Method-specific and parameter routes win over this wildcard in Elysia's and Bun's
 * routers alike.
 */
import { Elysia } from "elysia";
import { jsonError } from "./responses";

export const FALLBACK_ROUTE = "/*";

export function fallbackRoute() {
  // A body sent to an unknown path is never parsed, so it can never fail to parse either.
  return new Elysia().all(FALLBACK_ROUTE, () => jsonError(404, "not found"), { parse: "none" });
}
