/**
 * `bun bench/memory.ts <small|large>`: memory per stored object, in a fresh process.
 * Prints one JSON object (bench/run.ts runs both cases, each in its own process).
 *
 * The real server (createApp + listen on 127.0.0.1) receives the PUTs over HTTP from a client in the same
 * process, so the stored bytes come through Bun's real request path. Before and after storing the
 * objects: Bun.gc(true) (a full, synchronous collection) twice, then the resident set size and JSC's
 * heapSize (live objects plus the memory they own outside the heap: string and ArrayBuffer contents).
 * The difference divided by the object count is the cost per object; minus the body size, the overhead
 * the store's byte accounting does not count (the id string, the Uint8Array object, the Map entry).
 */
import { heapSize } from "bun:jsc";
import { createApp } from "../server/app";
import { silentLogger } from "../server/log";

const CASES = {
  small: { count: 10_000, size: 100 },
  large: { count: 64, size: 1024 * 1024 },
} as const;

const name = process.argv[2];
if (name !== "small" && name !== "large") {
  console.error("usage: bun bench/memory.ts <small|large>");
  process.exit(2);
}
const { count, size } = CASES[name];

const app = createApp({ logger: silentLogger });
app.listen({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
const base = `http://127.0.0.1:${app.server?.port}/api/buckets`;
// One body reused for every PUT: the client keeps nothing per object, only the server stores copies.
const body = new Uint8Array(size).fill(120);

async function put(id: string, data: Uint8Array): Promise<void> {
  const response = await fetch(`${base}/${id}`, { method: "PUT", body: data });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`PUT ${id} answered ${response.status}`);
}

function snapshot(): { rss: number; heap: number } {
  Bun.gc(true);
  Bun.gc(true);
  return { rss: process.memoryUsage.rss(), heap: heapSize() };
}

// Warm-up: as many PUT -> DELETE cycles as objects will be stored, with small bodies. The connection
// pool, the JIT and the allocator's pages for per-request garbage then exist before the first snapshot,
// so the difference is what the stored objects hold. Small bodies only: freed 1 MiB buffers would stay in
// the allocator and hide the large objects' cost from RSS.
const small = new Uint8Array(100);
for (let i = 0; i < Math.max(count, 200); i++) {
  await put("warm-up", small);
  await fetch(`${base}/warm-up`, { method: "DELETE" }).then((r) => r.arrayBuffer());
}
const before = snapshot();
// Ids shaped like real keys, 9-13 characters.
for (let i = 0; i < count; i++) await put(`object-${i}`, body);
const after = snapshot();
await app.stop(true);

const rssPerObject = (after.rss - before.rss) / count;
const heapPerObject = (after.heap - before.heap) / count;
console.log(
  JSON.stringify({
    case: name,
    objects: count,
    body_bytes: size,
    rss_per_object: rssPerObject,
    heap_per_object: heapPerObject,
    rss_overhead_per_object: rssPerObject - size,
    heap_overhead_per_object: heapPerObject - size,
    rss_before: before.rss,
    rss_after: after.rss,
  }),
);
process.exit(0);
