// `bun scripts/bench/serve.ts <variant>`: one variant on 127.0.0.1 and a free port; prints {"port": N}, then for
// each line on stdin a full GC and {"rss", "heap"} (scripts/bench/memory.ts). Every variant starts here alike.
import { heapSize } from "bun:jsc";
import { join, resolve } from "node:path";
import { Elysia } from "elysia";
import prometheus from "elysia-prometheus";
import { createApp } from "../../server/app";
import { silentLogger } from "../../server/log";
import { createMinimalApp } from "./minimal-server";

async function build(variant: string) {
  if (variant === "service") return createApp({ logger: silentLogger });
  // The same service with its objects in a redis-server (scripts/bench/redis.ts passes its URL).
  if (variant === "service-redis")
    return createApp({ logger: silentLogger, storeUrl: process.env.BENCH_REDIS_URL });
  if (variant === "service-no-metrics") return createApp({ metrics: false, logger: silentLogger });
  if (variant === "minimal") return createMinimalApp();
  // The peer plugin as its README says: used before the routes, default options.
  if (variant === "peer") {
    return new Elysia().use(prometheus()).use(createApp({ metrics: false, logger: silentLogger }));
  }
  // service@<dir>: the service of another checkout (its own node_modules), to compare two implementations.
  if (variant.startsWith("service@")) {
    const root = resolve(variant.slice("service@".length));
    const app = await import(join(root, "server/app.ts"));
    const log = await import(join(root, "server/log.ts"));
    return app.createApp({ logger: log.silentLogger }) as Elysia;
  }
  throw new Error(`unknown variant ${variant}`);
}

const app = await build(process.argv[2] ?? "");
// The listen options of server/main.ts: Bun's own body limit lifted, the app enforces its own.
app.listen({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
console.log(JSON.stringify({ port: app.server?.port }));
process.on("SIGTERM", () => process.exit(0));
for await (const _ of console) {
  Bun.gc(true);
  Bun.gc(true);
  console.log(JSON.stringify({ rss: process.memoryUsage.rss(), heap: heapSize() }));
}
