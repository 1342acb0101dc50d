// Memory per stored object: PUTs over HTTP to a fresh `service`, which reports RSS and JS heap after a full GC.
import { inParallel, send } from "./http";
import { startServer } from "./proc";

const WIDTH = 8;

export async function memoryPerObject(count: number, size: number) {
  const server = await startServer("service", `service (memory, ${size} B)`);
  // Warm-up: small PUT -> DELETE cycles, so connections, JIT and the allocator's pages for per-request
  // garbage exist before the first snapshot. Small bodies: freed 1 MiB buffers would hide later growth.
  const small = new Uint8Array(100);
  await inParallel(Math.max(count, 1000), WIDTH, async (i) => {
    await send(server.base, "PUT", `/api/buckets/warm-${i}`, 200, small);
    await send(server.base, "DELETE", `/api/buckets/warm-${i}`, 204);
  });
  const before = await server.memory();
  // One body reused for every PUT: only the server keeps a copy per object.
  const body = new Uint8Array(size).fill(120);
  await inParallel(count, WIDTH, (i) => send(server.base, "PUT", `/api/buckets/object-${i}`, 200, body));
  const after = await server.memory();
  await server.stop();
  return { rss: (after.rss - before.rss) / count, heap: (after.heap - before.heap) / count };
}
