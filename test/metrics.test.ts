/** What /metrics says about the traffic: labels, bounded cardinality, buckets, gauges, process metrics. */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { Elysia } from "elysia";
import { silentLogger } from "../server/log";
import { createMetrics, DURATION_BUCKETS, UNMATCHED_PATH } from "../server/metrics";
import { objectCost, Store } from "../server/store";
import { testApp } from "./support/app";
import { parseExposition, sampleValue, select } from "./support/exposition";

const ROUTE = "/api/buckets/:id";
const COUNT = "http_request_duration_seconds_count";

class BrokenStore extends Store {
  override get(): Blob | undefined {
    throw new Error("simulated store failure");
  }
}

describe("http_request_duration_seconds labels", () => {
  test.each([
    ["PUT 200", "PUT", "/api/buckets/a", "200", {}],
    ["GET 200", "GET", "/api/buckets/seeded", "200", {}],
    ["DELETE 204", "DELETE", "/api/buckets/seeded", "204", {}],
    ["GET 404 on an unknown id", "GET", "/api/buckets/none", "404", {}],
    ["DELETE 404 on an unknown id", "DELETE", "/api/buckets/none", "404", {}],
    ["POST 405", "POST", "/api/buckets/a", "405", {}],
    ["PUT 413", "PUT", "/api/buckets/big", "413", { body: "x".repeat(65) }],
    ["PUT 507", "PUT", "/api/buckets/huge", "507", { body: "x".repeat(60) }],
    ["PUT 411 for a chunked body", "PUT", "/api/buckets/c", "411", { body: new Blob(["x"]).stream() }],
    ["PUT 400 for a long id", "PUT", `/api/buckets/${"i".repeat(300)}`, "400", {}],
  ] as const)(
    "%s is labelled with the route template and the status sent",
    async (_, method, path, status, init) => {
      const { request, samples } = testApp({
        maxBodyBytes: 64,
        maxStoreBytes: objectCost("seeded", 10) + objectCost("a", 0) + 10,
      });
      await request("PUT", "/api/buckets/seeded", { body: "1234567890" });
      const response = await request(method, path, init);
      expect(String(response.status)).toBe(status);
      const all = await samples();
      expect(sampleValue(all, COUNT, { method, path: ROUTE, status })).toBe(
        method === "PUT" && status === "200" ? 2 : 1,
      );
      // The raw URL never becomes a label value.
      expect(all.some((s) => Object.values(s.labels).includes(path))).toBe(false);
    },
  );

  test("a thrown error is counted as 500 on its route", async () => {
    const { request, samples } = testApp({ store: new BrokenStore(4096) });
    expect((await request("GET", "/api/buckets/x")).status).toBe(500);
    expect(sampleValue(await samples(), COUNT, { method: "GET", path: ROUTE, status: "500" })).toBe(1);
  });

  test("unmatched requests share one fixed path value and keep their real status", async () => {
    const { request, samples } = testApp();
    await request("GET", "/favicon.ico");
    await request("POST", "/wp-login.php");
    await request("GET", "/api/buckets");
    const all = await samples();
    expect(sampleValue(all, COUNT, { method: "GET", path: UNMATCHED_PATH, status: "404" })).toBe(2);
    expect(sampleValue(all, COUNT, { method: "POST", path: UNMATCHED_PATH, status: "404" })).toBe(1);
  });

  test.each([
    ["the root", "GET", "/", {}],
    ["the bucket prefix with an empty id", "GET", "/api/buckets/", {}],
    ["a path below a bucket", "GET", "/api/buckets/a/b", {}],
    ["a wrong method on an operational path", "POST", "/healthz", {}],
    [
      "broken JSON to an unknown path (never parsed)",
      "POST",
      "/nope",
      { body: "{bad", headers: { "content-type": "application/json" } },
    ],
  ] as const)("%s gets 404 and is counted under the one unmatched path", async (_, method, path, init) => {
    const { request, samples } = testApp();
    const response = await request(method, path, init);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not found" });
    expect(sampleValue(await samples(), COUNT, { method, path: UNMATCHED_PATH, status: "404" })).toBe(1);
  });

  test("a handler that returns Elysia's status() is counted under that status", async () => {
    const metrics = createMetrics({
      store: new Store(64),
      version: "test",
      unobserved: [],
      fallback: "/*",
      precreated: [],
      logger: silentLogger,
    });
    const app = new Elysia()
      .use(metrics.plugin)
      .get("/teapot", ({ status }) => status(418, "short and stout"));
    const response = await app.handle(new Request("http://storage.test/teapot"));
    expect(response.status).toBe(418);
    const all = parseExposition(await metrics.registry.metrics());
    expect(sampleValue(all, COUNT, { method: "GET", path: "/teapot", status: "418" })).toBe(1);
  });

  test("a method outside the standard set is recorded as OTHER", async () => {
    const { request, samples } = testApp();
    await request("PROPFIND", "/api/buckets/x");
    const all = await samples();
    expect(select(all, COUNT, { method: "PROPFIND" })).toHaveLength(0);
    expect(select(all, COUNT, { method: "OTHER" }).reduce((sum, s) => sum + s.value, 0)).toBe(1);
  });

  test("/metrics, /healthz and /readyz are not observed", async () => {
    const { request, samples } = testApp();
    for (const path of ["/metrics", "/healthz", "/readyz", "/metrics"]) await request("GET", path);
    const all = await samples();
    for (const path of ["/metrics", "/healthz", "/readyz"])
      expect(select(all, COUNT, { path })).toHaveLength(0);
  });

  test("the success series exist at zero before any request, so rate() has a starting point", async () => {
    const { samples } = testApp();
    const all = await samples();
    expect(sampleValue(all, COUNT, { method: "GET", path: ROUTE, status: "200" })).toBe(0);
    expect(sampleValue(all, COUNT, { method: "PUT", path: ROUTE, status: "200" })).toBe(0);
    expect(sampleValue(all, COUNT, { method: "DELETE", path: ROUTE, status: "204" })).toBe(0);
  });

  test("sum, count and cumulative buckets agree for recorded requests", async () => {
    const { request, samples } = testApp();
    for (let i = 0; i < 5; i++) await request("PUT", `/api/buckets/${i}`, { body: "x" });
    const all = await samples();
    const labels = { method: "PUT", path: ROUTE, status: "200" };
    const buckets = select(all, "http_request_duration_seconds_bucket", labels);
    expect(buckets.map((b) => b.labels.le)).toEqual([...DURATION_BUCKETS.map(String), "+Inf"]);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(values.at(-1)).toBe(5);
    const sum = sampleValue(all, "http_request_duration_seconds_sum", labels);
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5);
  });
});

describe("cardinality", () => {
  test("series count does not grow with distinct ids or distinct unknown paths", async () => {
    const { request, samples } = testApp();
    const warm = async (n: number, prefix: string) => {
      for (let i = 0; i < n; i++) {
        await request("PUT", `/api/buckets/${prefix}${i}`, { body: "x" });
        await request("GET", `/api/buckets/${prefix}${i}`);
        await request("DELETE", `/api/buckets/${prefix}${i}`);
        await request("GET", `/api/buckets/${prefix}missing${i}`);
        await request("GET", `/unknown/${prefix}${i}?q=${i}`);
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

describe("histogram buckets", () => {
  test("resolve tens of microseconds: from 10 µs, six bounds below 1 ms, up to 5 s", () => {
    expect(DURATION_BUCKETS[0]).toBe(0.00001);
    expect(DURATION_BUCKETS.filter((b) => b < 0.001)).toHaveLength(6);
    expect(DURATION_BUCKETS.at(-1)).toBe(5);
    // The latency alert's threshold is a bound, so its quantile is exact there.
    expect(DURATION_BUCKETS).toContain(0.1);
  });
});

describe("store gauges and build info", () => {
  test("objects and bytes follow PUT, overwrite and DELETE; capacity is exported", async () => {
    const { request, samples } = testApp({ maxStoreBytes: 10_000 });
    await request("PUT", "/api/buckets/a", { body: "12345" });
    await request("PUT", "/api/buckets/b", { body: "123" });
    await request("PUT", "/api/buckets/a", { body: "1" });
    let all = await samples();
    expect(sampleValue(all, "storage_api_objects")).toBe(2);
    expect(sampleValue(all, "storage_api_stored_bytes")).toBe(objectCost("a", 1) + objectCost("b", 3));
    expect(sampleValue(all, "storage_api_max_stored_bytes")).toBe(10_000);
    await request("DELETE", "/api/buckets/b");
    all = await samples();
    expect(sampleValue(all, "storage_api_objects")).toBe(1);
    expect(sampleValue(all, "storage_api_stored_bytes")).toBe(objectCost("a", 1));
  });

  test("build info names the package version and the Bun version", async () => {
    const { samples } = testApp();
    const version = (await Bun.file(`${import.meta.dir}/../package.json`).json()).version;
    expect(
      sampleValue(await samples(), "storage_api_build_info", { version, bun_version: Bun.version }),
    ).toBe(1);
  });
});

describe("process metrics under Bun", () => {
  test("exports only the process metrics that are true here, with true values", async () => {
    const { samples } = testApp();
    const all = await samples();
    const names = [...new Set(all.map((s) => s.name))];
    // Zero or Node's figures under Bun, so left out: Node's event-loop lag gauge, handles, heap spaces, version.
    for (const prefix of [
      "nodejs_eventloop_lag_seconds",
      "nodejs_active_",
      "nodejs_heap_space_",
      "nodejs_version",
      "nodejs_gc",
      "nodejs_external",
    ]) {
      expect({ prefix, names: names.filter((n) => n.startsWith(prefix)) }).toEqual({ prefix, names: [] });
    }
    expect(sampleValue(all, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);

    const rss = sampleValue(all, "process_resident_memory_bytes");
    expect(Math.abs(rss - process.memoryUsage.rss()) / rss).toBeLessThan(0.2);
    const start = sampleValue(all, "process_start_time_seconds");
    expect(Math.abs(start - (Date.now() / 1000 - process.uptime()))).toBeLessThan(2);
    const cpu = sampleValue(all, "process_cpu_seconds_total");
    const user = sampleValue(all, "process_cpu_user_seconds_total");
    const system = sampleValue(all, "process_cpu_system_seconds_total");
    expect(cpu).toBeGreaterThan(0);
    expect(Math.abs(cpu - (user + system))).toBeLessThan(0.05);
    const fds = readdirSync("/proc/self/fd").length;
    expect(Math.abs(sampleValue(all, "process_open_fds") - fds)).toBeLessThanOrEqual(3);
    expect(sampleValue(all, "process_max_fds")).toBeGreaterThanOrEqual(sampleValue(all, "process_open_fds"));
  });

  test("CPU seconds only go up between scrapes", async () => {
    const { samples } = testApp();
    const first = sampleValue(await samples(), "process_cpu_seconds_total");
    let spin = 0;
    const until = performance.now() + 30;
    while (performance.now() < until) spin++;
    expect(spin).toBeGreaterThan(0);
    expect(sampleValue(await samples(), "process_cpu_seconds_total")).toBeGreaterThan(first);
  });
});
