/** The API contract, row by row, through app.handle() (no network). */
import { describe, expect, test } from "bun:test";
import { MAX_ID_LENGTH } from "../server/buckets";
import { objectCost, Store } from "../server/store";
import { testApp } from "./support/app";

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);

function chunked(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

describe("PUT then GET", () => {
  test("stores every byte value exactly and returns it as octet-stream", async () => {
    const { request } = testApp();
    const put = await request("PUT", "/api/buckets/bin", { body: binary });
    expect(put.status).toBe(200);
    expect(await put.text()).toBe("");
    const get = await request("GET", "/api/buckets/bin");
    expect(get.status).toBe(200);
    expect(get.headers.get("content-type")).toBe("application/octet-stream");
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(binary);
  });

  test.each([
    ["application/json", '{"not":"parsed"'],
    ["application/x-www-form-urlencoded", "a=1&b=2"],
    ["text/plain; charset=utf-8", "héllo"],
    ["multipart/form-data; boundary=x", "--x--"],
  ])("keeps a %s body as raw bytes, even when it is not valid for that type", async (type, body) => {
    const { request } = testApp();
    expect((await request("PUT", "/api/buckets/t", { body, headers: { "content-type": type } })).status).toBe(
      200,
    );
    expect(await (await request("GET", "/api/buckets/t")).text()).toBe(body);
  });

  test("accepts a PUT with no body and no content type as an empty object", async () => {
    const { request } = testApp();
    expect((await request("PUT", "/api/buckets/empty")).status).toBe(200);
    const get = await request("GET", "/api/buckets/empty");
    expect(get.status).toBe(200);
    expect((await get.arrayBuffer()).byteLength).toBe(0);
  });

  test("refuses a chunked body (no Content-Length) with 411 before reading it", async () => {
    const store = new Store(1024 * 1024);
    const { request } = testApp({ store });
    const response = await request("PUT", "/api/buckets/c", { body: chunked([binary]) });
    expect(response.status).toBe(411);
    expect(await response.json()).toEqual({ error: "Content-Length is required" });
    expect(store.objects).toBe(0);
  });

  test("overwrites an existing id", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/k", { body: "first" });
    await request("PUT", "/api/buckets/k", { body: "second" });
    expect(await (await request("GET", "/api/buckets/k")).text()).toBe("second");
  });

  test("answers HEAD like GET without a body", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/h", { body: "abc" });
    const head = await request("HEAD", "/api/buckets/h");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("3");
    expect(await head.text()).toBe("");
  });
});

describe("unknown ids and DELETE", () => {
  test("GET of an unknown id is 404 with a JSON error", async () => {
    const { request } = testApp();
    const response = await request("GET", "/api/buckets/nope");
    expect(response.status).toBe(404);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ error: "not found" });
  });

  // Regression: the original service answered 500 to every successful DELETE.
  test("DELETE of an existing id is 204 with no body, and the object is gone", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/d", { body: "x" });
    const response = await request("DELETE", "/api/buckets/d");
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
    expect((await request("GET", "/api/buckets/d")).status).toBe(404);
  });

  // Regression: the original service answered 400 to a DELETE of an unknown id.
  test("DELETE of an unknown id is 404 with a JSON error", async () => {
    const { request } = testApp();
    const response = await request("DELETE", "/api/buckets/never");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not found" });
  });
});

describe("methods and paths", () => {
  test.each(["POST", "PATCH", "OPTIONS"])(
    "%s on a bucket is 405 with Allow and a JSON error",
    async (method) => {
      const { request } = testApp();
      const response = await request(method, "/api/buckets/x", {
        body: method === "OPTIONS" ? null : "data",
      });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE");
      expect(await response.json()).toEqual({ error: "method not allowed" });
      expect((await request("GET", "/api/buckets/x")).status).toBe(404);
    },
  );

  test("POST on a bucket is 405 whatever the Host header's length", async () => {
    const { app } = testApp();
    for (const host of ["x", "ab", "abc"]) {
      const response = await app.handle(new Request(`http://${host}/api/buckets/a`, { method: "POST" }));
      expect({ host, status: response.status }).toEqual({ host, status: 405 });
    }
  });

  test.each(["/", "/api", "/api/buckets", "/api/buckets/", "/api/buckets/a/b", "/API/BUCKETS/x"])(
    "any other path (%s) is 404 with a JSON error",
    async (path) => {
      const { request } = testApp();
      const response = await request("GET", path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ error: "not found" });
    },
  );
});

describe("ids", () => {
  test.each([
    ["a space", "a%20b"],
    ["a slash", "a%2Fb"],
    ["unicode", "%C3%A9t%C3%A9"],
    ["a percent sign", "100%25"],
    ["a question mark", "why%3F"],
  ])("an id with %s round-trips through PUT, GET and DELETE", async (_, encoded) => {
    const { request } = testApp();
    expect((await request("PUT", `/api/buckets/${encoded}`, { body: encoded })).status).toBe(200);
    expect(await (await request("GET", `/api/buckets/${encoded}`)).text()).toBe(encoded);
    expect((await request("DELETE", `/api/buckets/${encoded}`)).status).toBe(204);
    expect((await request("GET", `/api/buckets/${encoded}`)).status).toBe(404);
  });

  test("an encoded and a literal spelling of the same id name the same object", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/%61bc", { body: "same" });
    expect(await (await request("GET", "/api/buckets/abc")).text()).toBe("same");
  });

  test("an id of exactly the maximum length is accepted", async () => {
    const { request } = testApp();
    const id = "i".repeat(MAX_ID_LENGTH);
    expect((await request("PUT", `/api/buckets/${id}`, { body: "ok" })).status).toBe(200);
    expect(await (await request("GET", `/api/buckets/${id}`)).text()).toBe("ok");
  });

  test.each(["PUT", "GET", "DELETE"])(
    "%s with an id over the maximum length is 400 and stores nothing",
    async (m) => {
      const store = new Store(1024);
      const { request } = testApp({ store });
      const response = await request(m, `/api/buckets/${"i".repeat(MAX_ID_LENGTH + 1)}`, {
        body: m === "PUT" ? "data" : null,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: `id is longer than ${MAX_ID_LENGTH} characters` });
      expect(store.objects).toBe(0);
    },
  );

  test.each(["%E0%A4%A", "%C3%28", "a%EF%BF%BD"])(
    "an id that is not valid UTF-8 (%s), or holds the U+FFFD that stands for such bytes, is 400",
    async (id) => {
      const store = new Store(1024 * 1024);
      const { request } = testApp({ store });
      const response = await request("PUT", `/api/buckets/${id}`, { body: "data" });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: "id is not valid UTF-8" });
      expect(store.objects).toBe(0);
    },
  );
});

describe("limits", () => {
  test("a body over MAX_BODY_BYTES is 413 and nothing is stored", async () => {
    const store = new Store(1024 * 1024);
    const { request } = testApp({ store, maxBodyBytes: 10 });
    expect((await request("PUT", "/api/buckets/ok", { body: "x".repeat(10) })).status).toBe(200);
    const response = await request("PUT", "/api/buckets/big", { body: "x".repeat(11) });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: "body larger than 10 bytes" });
    expect((await request("GET", "/api/buckets/big")).status).toBe(404);
    expect(store.bytes).toBe(objectCost("ok", 10));
  });

  test("an oversized overwrite keeps the old value", async () => {
    const { request } = testApp({ maxBodyBytes: 10 });
    await request("PUT", "/api/buckets/k", { body: "old" });
    expect((await request("PUT", "/api/buckets/k", { body: "x".repeat(11) })).status).toBe(413);
    expect(await (await request("GET", "/api/buckets/k")).text()).toBe("old");
  });

  test("a PUT that would pass MAX_STORE_BYTES is 507, stores nothing, and leaves existing data as it was", async () => {
    const store = new Store(objectCost("a", 6) + objectCost("b", 4));
    const { request, logs } = testApp({ store, maxBodyBytes: 10 });
    await request("PUT", "/api/buckets/a", { body: "aaaaaa" });
    const response = await request("PUT", "/api/buckets/b", { body: "bbbbb" });
    expect(response.status).toBe(507);
    expect(await response.json()).toEqual({ error: "store is full" });
    expect((await request("GET", "/api/buckets/b")).status).toBe(404);
    expect(await (await request("GET", "/api/buckets/a")).text()).toBe("aaaaaa");
    expect(store.bytes).toBe(objectCost("a", 6));
    expect(logs.some((l) => l.level === "warn" && l.fields?.status === 507)).toBe(true);
    expect((await request("PUT", "/api/buckets/b", { body: "bbbb" })).status).toBe(200);
  });

  test("empty objects count against the store too: a 1 MiB store holds at most 1024 of them", async () => {
    const store = new Store(1024 * 1024);
    const { request } = testApp({ store });
    let status = 200;
    for (let i = 0; status === 200 && i < 5000; i++)
      status = (await request("PUT", `/api/buckets/${i}`, { body: "" })).status;
    expect(status).toBe(507);
    expect(store.objects).toBeLessThanOrEqual(1024);
    expect(store.bytes).toBeLessThanOrEqual(1024 * 1024);
  });

  test("a longer id costs more: two bytes per character", async () => {
    expect(objectCost("ab", 5) - objectCost("a", 5)).toBe(2);
    expect(objectCost("é", 0)).toBe(objectCost("e", 0));
  });

  test("overwriting counts only the difference against the capacity", async () => {
    const store = new Store(objectCost("a", 10));
    const { request } = testApp({ store, maxBodyBytes: 10 });
    await request("PUT", "/api/buckets/a", { body: "x".repeat(8) });
    expect((await request("PUT", "/api/buckets/a", { body: "y".repeat(10) })).status).toBe(200);
    expect(store.bytes).toBe(objectCost("a", 10));
    expect((await request("DELETE", "/api/buckets/a")).status).toBe(204);
    expect(store.bytes).toBe(0);
  });

  test("bodies in flight have a budget: past it a PUT is 503 with Retry-After before its body is read", async () => {
    const store = new Store(1024 * 1024);
    const { request } = testApp({ store, maxBodyBytes: 100, maxInflightBytes: 150 });
    // A client that has sent its headers and part of a 100-byte body, and holds the rest.
    let finish = (): void => {};
    const held = request("PUT", "/api/buckets/slow", {
      headers: { "content-length": "100" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new Uint8Array(40));
          finish = () => {
            controller.enqueue(new Uint8Array(60));
            controller.close();
          };
        },
      }),
    });
    await Bun.sleep(0);
    const refused = await request("PUT", "/api/buckets/other", { body: "x".repeat(60) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({ error: "too many uploads in progress" });
    expect((await request("PUT", "/api/buckets/small", { body: "x".repeat(50) })).status).toBe(200);
    finish();
    expect((await held).status).toBe(200);
    // Released once the body has arrived.
    expect((await request("PUT", "/api/buckets/other", { body: "x".repeat(100) })).status).toBe(200);
  });

  test("a body that cannot be read whole is 400, stores nothing, and gives its in-flight bytes back", async () => {
    const store = new Store(1024 * 1024);
    const { request } = testApp({ store, maxBodyBytes: 100, maxInflightBytes: 100 });
    const broken = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(10));
        controller.error(new Error("connection reset"));
      },
    });
    const response = await request("PUT", "/api/buckets/cut", {
      headers: { "content-length": "100" },
      body: broken,
    });
    expect(response.status).toBe(400);
    expect(store.objects).toBe(0);
    expect((await request("PUT", "/api/buckets/next", { body: "x".repeat(100) })).status).toBe(200);
  });

  test("a flood of refusals logs one line per interval, with the count it left out", async () => {
    const store = new Store(objectCost("a", 0));
    const { request, logs } = testApp({ store });
    await request("PUT", "/api/buckets/a", { body: "" });
    for (let i = 0; i < 50; i++)
      expect((await request("PUT", `/api/buckets/b${i}`, { body: "" })).status).toBe(507);
    expect(logs.filter((l) => l.fields?.status === 507)).toHaveLength(1);
  });
});

describe("errors inside a handler", () => {
  test("a thrown error is a JSON 500, logged with the error, and the app keeps serving", async () => {
    class BrokenStore extends Store {
      override get(id: string): Blob | undefined {
        if (id === "boom") throw new Error("simulated store failure");
        return super.get(id);
      }
    }
    const { request, logs } = testApp({ store: new BrokenStore(1024) });
    const response = await request("GET", "/api/buckets/boom");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "internal server error" });
    const logged = logs.find((l) => l.level === "error");
    expect(logged?.fields?.error).toBe("simulated store failure");
    expect((await request("GET", "/api/buckets/other")).status).toBe(404);
  });
});

describe("health, readiness, metrics endpoints", () => {
  test("/healthz is 200 while the process runs", async () => {
    const { request } = testApp();
    expect((await request("GET", "/healthz")).status).toBe(200);
  });

  test("/readyz is 200, then 503 once shutdown has begun", async () => {
    const lifecycle = { ready: true };
    const { request } = testApp({ lifecycle });
    expect((await request("GET", "/readyz")).status).toBe(200);
    lifecycle.ready = false;
    const response = await request("GET", "/readyz");
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: "shutting down" });
  });

  test("once shutdown has begun, every response asks its client to close the connection", async () => {
    const lifecycle = { ready: true };
    const { request } = testApp({ lifecycle });
    expect((await request("GET", "/api/buckets/x")).headers.get("connection")).toBeNull();
    lifecycle.ready = false;
    for (const [method, path] of [
      ["GET", "/api/buckets/x"],
      ["PUT", "/api/buckets/x"],
      ["GET", "/readyz"],
      ["GET", "/nowhere"],
    ]) {
      const response = await request(method as string, path as string, method === "PUT" ? { body: "x" } : {});
      expect({ path, connection: response.headers.get("connection") }).toEqual({ path, connection: "close" });
    }
  });

  test("/metrics answers Prometheus text with the registry's content type", async () => {
    const { request, registry } = testApp();
    const response = await request("GET", "/metrics");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(registry.contentType);
    expect(await response.text()).toContain("# TYPE http_request_duration_seconds histogram");
  });
});
