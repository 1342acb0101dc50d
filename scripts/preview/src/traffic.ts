/**
 * Traffic of the shape of scripts/generate_traffic.sh: 8 workers, each doing PUT -> GET -> DELETE cycles on
 * its own bucket, plus now and then a GET of an id that was never stored (404). Pauses between requests
 * keep objects stored for a while and make the rate rise and fall, so every panel has something to show.
 * Each worker stops after a GET, leaving its object stored.
 */

export type StatusCounts = Record<string, number>;

const WORKERS = 8;
/** One slow wave of load over this period, so rates are not a flat line. */
const WAVE_MS = 120_000;

export async function driveTraffic(baseUrl: string, durationMs: number): Promise<StatusCounts> {
  const statuses: StatusCounts = {};
  const start = Date.now();
  const deadline = start + durationMs;
  const send = async (method: string, path: string, body?: Blob) => {
    const response = await fetch(`${baseUrl}${path}`, { method, body, signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
  };
  // Between 40 and 360 ms (plus jitter) depending on where the wave is.
  const pause = () => {
    const wave = Math.sin((2 * Math.PI * (Date.now() - start)) / WAVE_MS);
    return Bun.sleep(200 + 160 * wave + Math.random() * 80);
  };
  const worker = async (id: number) => {
    const bucket = `/api/buckets/${id}`;
    for (let cycle = 0; ; cycle++) {
      // 8 to 64 KiB, different per worker and cycle, so Stored Bytes moves.
      await send("PUT", bucket, new Blob([new Uint8Array(8192 * (1 + ((id + cycle) % 8)))]));
      await pause();
      await send("GET", bucket);
      // Stopping here leaves the objects stored, so the last values of the store panels are not zero.
      if (Date.now() >= deadline) return;
      await pause();
      await send("DELETE", bucket);
      if (cycle % 4 === 0) await send("GET", `/api/buckets/never-stored-${id}-${cycle}`);
      await pause();
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, index) => worker(index + 1)));
  return statuses;
}
