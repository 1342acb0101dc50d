// /metrics on a fresh `service`: render time with objects stored, and the series count before and after
// 100k distinct ids and 100k unknown paths (equal when labels are route templates).
import { inParallel, send } from "./http";
import { startServer } from "./proc";
import { median, range } from "./stats";

const RENDERS = 200;
const DISTINCT = 100_000;
const WIDTH = 16;
const BODY = new Uint8Array(100).fill(120);

/** Every line that is not a comment is one series. */
const seriesCount = (text: string) => text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;

export async function checkMetrics() {
  const server = await startServer("service", "service (/metrics check)");
  const request = (method: string, path: string, status: number, body?: Uint8Array) =>
    send(server.base, method, path, status, body);
  // 1000 stored objects, and one request of each kind sent below, so "before" already has their series.
  await inParallel(1000, WIDTH, (i) => request("PUT", `/api/buckets/stored-${i}`, 200, BODY));
  await request("PUT", "/api/buckets/first", 200, BODY);
  await request("DELETE", "/api/buckets/first", 204);
  await request("GET", "/unknown/first", 404);
  const renderMs: number[] = [];
  let text = "";
  for (let i = 0; i < RENDERS; i++) {
    const start = performance.now();
    text = await request("GET", "/metrics", 200);
    renderMs.push(performance.now() - start);
  }
  await inParallel(DISTINCT, WIDTH, async (i) => {
    await request("PUT", `/api/buckets/id-${i}`, 200, BODY);
    await request("DELETE", `/api/buckets/id-${i}`, 204);
  });
  await inParallel(DISTINCT, WIDTH, (i) => request("GET", `/unknown/path-${i}?q=${i}`, 404));
  const after = seriesCount(await request("GET", "/metrics", 200));
  await server.stop();
  return {
    renders: RENDERS,
    renderMs: { median: median(renderMs), ...range(renderMs) },
    bytes: text.length,
    seriesBefore: seriesCount(text),
    seriesAfter: after,
    distinct: DISTINCT,
  };
}
