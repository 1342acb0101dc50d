// The yardstick: the least Elysia server that stores bytes in a Map, with the service's status codes (so
// scripts/bench/cycle.lua checks both alike) and nothing else.
import { Elysia } from "elysia";

const ROUTE = "/api/buckets/:id";
const raw = { parse: "none" } as const;

export function createMinimalApp() {
  const objects = new Map<string, Uint8Array>();
  return new Elysia()
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
