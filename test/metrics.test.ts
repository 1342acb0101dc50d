/** What /metrics says about the traffic: labels, bounded cardinality, buckets, gauges, process metrics. */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { DURATION_BUCKETS, UNMATCHED_PATH } from "../server/metrics";
import { objectCost } from "../server/store";
import { BrokenStore, testApp } from "./support/app";
import { sampleValue, select } from "./support/exposition";

const ROUTE = "/api/buckets/:id";
const COUNT = "http_request_duration_seconds_count";
const JSON_TYPE = "application/json";

describe("http_request_duration_seconds", () => {
  test("every answer is counted once under its method, route template and the status sent, never the raw URL", async () => {
    const { request, samples } = testApp({
      maxBodyBytes: 64,
      store: new BrokenStore(objectCost("seeded", 10) + 10),
    });
    await request("PUT", "/api/buckets/seeded", { body: "1234567890" });
    const cases = [
      ["GET", "/api/buckets/seeded", 200, ROUTE, {}],
      ["DELETE", "/api/buckets/seeded", 204, ROUTE, {}],
      ["GET", "/api/buckets/none", 404, ROUTE, {}],
      ["DELETE", "/api/buckets/none", 404, ROUTE, {}],
      ["POST", "/api/buckets/a", 405, ROUTE, {}],
      ["PUT", "/api/buckets/big", 413, ROUTE, { body: "x".repeat(65) }],
      ["PUT", "/api/buckets/huge", 507, ROUTE, { body: "x".repeat(60) }],
      ["PUT", "/api/buckets/c", 200, ROUTE, { body: new Blob(["x"]).stream() }],
      ["PUT", "/api/buckets/%ZZ", 400, ROUTE, {}],
      ["GET", "/api/buckets/boom", 500, ROUTE, {}],
      ["PROPFIND", "/api/buckets/x", 405, ROUTE, {}],
      ["GET", "/", 404, UNMATCHED_PATH, {}],
      ["GET", "/api/buckets/", 404, UNMATCHED_PATH, {}],
      ["GET", "/api/buckets/a/", 404, UNMATCHED_PATH, {}],
      ["GET", "/healthz/", 404, UNMATCHED_PATH, {}],
      ["POST", "/nope", 404, UNMATCHED_PATH, { body: "{bad", headers: { "content-type": JSON_TYPE } }],
    ] as const;
    for (const [method, path, status, label, init] of cases) {
      const before = await samples();
      const response = await request(method, path, init);
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
      const after = await samples();
      const labels = {
        method: method === "PROPFIND" ? "OTHER" : method,
        path: label,
        status: String(status),
      };
      const count = (all: typeof after) => select(all, COUNT, labels).reduce((sum, s) => sum + s.value, 0);
      expect({ method, path, counted: count(after) - count(before) }).toEqual({ method, path, counted: 1 });
      expect(after.some((s) => Object.values(s.labels).includes(path))).toBe(false);
    }
  });

  test("/metrics, /healthz and /readyz are not observed; the success series exist at zero from the start", async () => {
    const { request, samples } = testApp();
    for (const path of ["/metrics", "/healthz", "/readyz"]) await request("GET", path);
    const all = await samples();
    for (const path of ["/metrics", "/healthz", "/readyz"])
      expect(select(all, COUNT, { path })).toHaveLength(0);
    for (const [method = "", status = ""] of ["GET 200", "PUT 200", "DELETE 204"].map((s) => s.split(" ")))
      expect(sampleValue(all, COUNT, { method, path: ROUTE, status })).toBe(0);
  });

  test("buckets from 10 µs to 5 s, 0.1 s among them; sum, count and cumulative buckets agree", async () => {
    const below1ms = DURATION_BUCKETS.filter((b) => b < 0.001).length;
    const shape = [DURATION_BUCKETS[0], below1ms, DURATION_BUCKETS.includes(0.1), DURATION_BUCKETS.at(-1)];
    expect(shape).toEqual([1e-5, 6, true, 5]);
    const { statuses, samples } = testApp();
    await statuses(...[0, 1, 2, 3, 4].map((i) => `PUT /api/buckets/${i} x`));
    const all = await samples();
    const labels = { method: "PUT", path: ROUTE, status: "200" };
    const buckets = select(all, "http_request_duration_seconds_bucket", labels);
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), "+Inf"]);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(5);
    const sum = sampleValue(all, "http_request_duration_seconds_sum", labels);
    expect(sum > 0 && sum < 5).toBe(true);
  });

  test("the number of series does not grow with distinct ids or distinct unknown paths", async () => {
    const { statuses, samples } = testApp();
    const warm = async (n: number, p: string) => {
      for (let i = 0; i < n; i++) {
        const id = `/api/buckets/${p}${i}`;
        await statuses(
          `PUT ${id} x`,
          `GET ${id}`,
          `DELETE ${id}`,
          `GET ${id}no`,
          `GET /unknown/${p}${i}?q=${i}`,
        );
      }
    };
    await warm(3, "a");
    const before = (await samples()).length;
    await warm(300, "b");
    const after = await samples();
    expect(after.length).toBe(before);
    expect(sampleValue(after, COUNT, { method: "GET", path: UNMATCHED_PATH, status: "404" })).toBe(303);
  });
});

describe("store gauges and build info", () => {
  test("objects and bytes follow PUT, overwrite and DELETE; the budget and the build are exported", async () => {
    const { statuses, samples } = testApp({ maxStoreBytes: 10_000 });
    await statuses("PUT /api/buckets/a 12345", "PUT /api/buckets/b 123", "PUT /api/buckets/a 1");
    let all = await samples();
    expect(sampleValue(all, "storage_api_objects")).toBe(2);
    expect(sampleValue(all, "storage_api_stored_bytes")).toBe(objectCost("a", 1) + objectCost("b", 3));
    expect(sampleValue(all, "storage_api_max_stored_bytes")).toBe(10_000);
    const { version } = await Bun.file(`${import.meta.dir}/../package.json`).json();
    expect(sampleValue(all, "storage_api_build_info", { version, bun_version: Bun.version })).toBe(1);
    await statuses("DELETE /api/buckets/b");
    all = await samples();
    expect([sampleValue(all, "storage_api_objects"), sampleValue(all, "storage_api_stored_bytes")]).toEqual([
      1,
      objectCost("a", 1),
    ]);
  });
});

describe("process metrics under Bun", () => {
  test("only the default metrics that are true here are exported, with true values", async () => {
    const { samples } = testApp();
    const all = await samples();
    const names = [...new Set(all.map((s) => s.name))];
    // Zero or Node's figures under Bun, so left out: handles, heap spaces, GC, external memory, version.
    expect(names.filter((n) => /^nodejs_(active_|heap_space_|version|gc|external)/.test(n))).toEqual([]);
    expect(sampleValue(all, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    const rss = sampleValue(all, "process_resident_memory_bytes");
    expect(Math.abs(rss - process.memoryUsage.rss()) / rss).toBeLessThan(0.2);
    expect(
      Math.abs(sampleValue(all, "process_start_time_seconds") - (Date.now() / 1000 - process.uptime())),
    ).toBeLessThan(2);
    const cpu = sampleValue(all, "process_cpu_seconds_total");
    const parts =
      sampleValue(all, "process_cpu_user_seconds_total") +
      sampleValue(all, "process_cpu_system_seconds_total");
    expect(cpu > 0 && Math.abs(cpu - parts) < 0.05).toBe(true);
    expect(
      Math.abs(sampleValue(all, "process_open_fds") - readdirSync("/proc/self/fd").length),
    ).toBeLessThanOrEqual(3);
  });

  test("a loop blocked on purpose shows in the event-loop lag gauges, and CPU seconds go up", async () => {
    const { samples } = testApp();
    const first = await samples();
    await Bun.sleep(20);
    const until = performance.now() + 100;
    while (performance.now() < until);
    await Bun.sleep(20);
    const all = await samples();
    for (const q of ["max", "p99"])
      expect(sampleValue(all, `nodejs_eventloop_lag_${q}_seconds`)).toBeGreaterThan(0);
    expect(sampleValue(all, "process_cpu_seconds_total")).toBeGreaterThan(
      sampleValue(first, "process_cpu_seconds_total"),
    );
  });
});
