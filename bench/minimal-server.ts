/**
 * The calibration baseline: the least an Elysia server can do to store and return bytes. PUT, GET and
 * DELETE on a Map, raw bytes, the same status codes as the service (so bench/cycle.lua checks both the
 * same way), and nothing else: no limits, no 405, no accounting, no metrics, no error handler.
 */
import { Elysia } from "elysia";

const ROUTE = "/api/buckets/:id";
const raw = { parse: "none" } as const;

export function createMinimalApp({ emptyHooks }: { emptyHooks: boolean }) {
  const objects = new Map<string, Uint8Array>();
  const app = new Elysia();
  if (emptyHooks) {
    // Issue 5's calibration point: an empty onRequest + onAfterResponse pair, as the issue measured it.
    app.onRequest(() => {}).onAfterResponse({ as: "global" }, () => {});
  }
  return app
    .get(ROUTE, ({ params }) => {
      const data = objects.get(params.id);
      return data === undefined ? new Response(null, { status: 404 }) : new Response(data);
    })
    .put(
      ROUTE,
      async ({ params, request }) => {
        objects.set(params.id, await request.bytes());
        return new Response(null, { status: 200 });
      },
      raw,
    )
    .delete(
      ROUTE,
      ({ params }) => new Response(null, { status: objects.delete(params.id) ? 204 : 404 }),
      raw,
    );
}
