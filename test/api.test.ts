/** The API contract through app.handle() (no network): what each request answers and what is stored. */
import { describe, expect, test } from "bun:test";
import { MemoryStore, objectCost } from "../server/store";
import { testApp } from "./support/app";

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);

/** A request body the client is still sending: `send` enqueues more, `end` closes it. */
function trickle(first: Uint8Array) {
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
      c.enqueue(first);
    },
  });
  return { body, send: (b: Uint8Array) => controller?.enqueue(b), end: () => controller?.close() };
}

describe("the three routes", () => {
  test("PUT stores any body as raw bytes, whatever its content type; GET returns them as octet-stream", async () => {
    const { request } = testApp();
    const bodies: Array<[string, string | Uint8Array]> = [
      ["application/octet-stream", binary],
      ["application/json", '{"not":"parsed"'],
      ["application/x-www-form-urlencoded", "a=1&b=2"],
      ["text/plain; charset=utf-8", "héllo"],
      ["multipart/form-data; boundary=x", "--x--"],
    ];
    for (const [type, body] of bodies) {
      const put = await request("PUT", "/api/buckets/t", { body, headers: { "content-type": type } });
      expect({ type, status: put.status, body: await put.text() }).toEqual({ type, status: 200, body: "" });
      const get = await request("GET", "/api/buckets/t");
      expect(get.headers.get("content-type")).toBe("application/octet-stream");
      expect(Buffer.from(await get.arrayBuffer())).toEqual(Buffer.from(body));
    }
  });

  test("a PUT with no body stores an empty object; a chunked body (no Content-Length) is stored whole", async () => {
    const { request } = testApp();
    expect((await request("PUT", "/api/buckets/empty")).status).toBe(200);
    expect((await (await request("GET", "/api/buckets/empty")).arrayBuffer()).byteLength).toBe(0);
    const upload = trickle(binary.subarray(0, 100));
    upload.send(binary.subarray(100));
    upload.end();
    expect((await request("PUT", "/api/buckets/c", { body: upload.body })).status).toBe(200);
    expect(new Uint8Array(await (await request("GET", "/api/buckets/c")).arrayBuffer())).toEqual(binary);
  });

  test("PUT overwrites; HEAD answers like GET without a body", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/k", { body: "first" });
    await request("PUT", "/api/buckets/k", { body: "abc" });
    expect(await (await request("GET", "/api/buckets/k")).text()).toBe("abc");
    const head = await request("HEAD", "/api/buckets/k");
    expect([head.status, head.headers.get("content-length"), await head.text()]).toEqual([200, "3", ""]);
  });

  // The original answered 500 to every successful DELETE and 400 to an unknown id (docs/incident-500.md).
  test("DELETE answers 204 with no body and the object is gone; an unknown id is a JSON 404 for GET and DELETE", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/d", { body: "x" });
    const deleted = await request("DELETE", "/api/buckets/d");
    expect([deleted.status, await deleted.text()]).toEqual([204, ""]);
    for (const method of ["GET", "DELETE"]) {
      const response = await request(method, "/api/buckets/d");
      expect(response.status).toBe(404);
      expect(response.headers.get("content-type")).toBe("application/json");
      expect(await response.json()).toEqual({ error: "not found" });
    }
  });

  test("another method on a bucket is 405 with Allow, whatever the Host header's length", async () => {
    const { app } = testApp();
    for (const [method, host] of [
      ["POST", "x"],
      ["POST", "ab"],
      ["PATCH", "abc"],
      ["OPTIONS", "storage.test"],
    ]) {
      const response = await app.handle(
        new Request(`http://${host}/api/buckets/x`, { method, body: method === "OPTIONS" ? null : "data" }),
      );
      expect({ method, host, status: response.status }).toEqual({ method, host, status: 405 });
      expect(response.headers.get("allow")).toBe("GET, HEAD, PUT, DELETE");
      expect(await response.json()).toEqual({ error: "method not allowed" });
    }
  });

  test("any other path is a JSON 404, and a trailing slash does not name the object without it", async () => {
    const { request } = testApp();
    await request("PUT", "/api/buckets/t1", { body: "kept" });
    for (const path of [
      "/",
      "/api",
      "/api/buckets",
      "/api/buckets/",
      "/api/buckets/a/b",
      "/API/BUCKETS/t1",
    ]) {
      const response = await request("GET", path);
      expect({ path, status: response.status, body: await response.json() }).toEqual({
        path,
        status: 404,
        body: { error: "not found" },
      });
    }
    for (const method of ["GET", "DELETE", "PUT"])
      expect(
        (await request(method, "/api/buckets/t1/", { body: method === "PUT" ? "x" : null })).status,
      ).toBe(404);
    expect(await (await request("GET", "/api/buckets/t1")).text()).toBe("kept");
  });
});

describe("ids", () => {
  test("ids are percent-decoded: spaces, slashes, unicode, % and ? round-trip; two spellings name one object", async () => {
    const { request } = testApp();
    for (const encoded of ["a%20b", "a%2Fb", "%C3%A9t%C3%A9", "100%25", "why%3F", "i".repeat(1000)]) {
      expect((await request("PUT", `/api/buckets/${encoded}`, { body: encoded })).status).toBe(200);
      expect(await (await request("GET", `/api/buckets/${encoded}`)).text()).toBe(encoded);
      expect((await request("DELETE", `/api/buckets/${encoded}`)).status).toBe(204);
    }
    await request("PUT", "/api/buckets/%61bc", { body: "same" });
    expect(await (await request("GET", "/api/buckets/abc")).text()).toBe("same");
  });

  test("an id with a bad escape, not valid UTF-8, or holding the U+FFFD that stands for such bytes is 400 for every method", async () => {
    const store = new MemoryStore(1024 * 1024);
    const { request } = testApp({ store });
    const cases = [
      ["%ZZ", "id has a bad %-escape"],
      ["a%", "id has a bad %-escape"],
      ["%E0%A4%A", "id has a bad %-escape"],
      ["%C3%28", "id is not valid UTF-8"],
      ["a%EF%BF%BD", "id is not valid UTF-8"],
    ];
    for (const [id, error] of cases) {
      for (const method of ["PUT", "GET", "DELETE"]) {
        const response = await request(method, `/api/buckets/${id}`, {
          body: method === "PUT" ? "data" : null,
        });
        expect({ id, method, status: response.status, body: await response.json() }).toEqual({
          id,
          method,
          status: 400,
          body: { error },
        });
      }
    }
    expect((await store.stats()).objects).toBe(0);
  });
});

describe("limits", () => {
  test("a body over MAX_BODY_BYTES is 413, declared or counted as it streams, and an existing value stays", async () => {
    const store = new MemoryStore(1024 * 1024);
    const { request } = testApp({ store, maxBodyBytes: 10 });
    expect((await request("PUT", "/api/buckets/k", { body: "x".repeat(10) })).status).toBe(200);
    const declared = await request("PUT", "/api/buckets/k", { body: "y".repeat(11) });
    expect([declared.status, await declared.json()]).toEqual([413, { error: "body larger than 10 bytes" }]);
    const streamed = trickle(new Uint8Array(6));
    streamed.send(new Uint8Array(6));
    expect((await request("PUT", "/api/buckets/k", { body: streamed.body })).status).toBe(413);
    expect(await (await request("GET", "/api/buckets/k")).text()).toBe("x".repeat(10));
    expect((await store.stats()).bytes).toBe(objectCost("k", 10));
  });

  test("a PUT past MAX_STORE_BYTES is 507 and changes nothing; an overwrite counts only the difference", async () => {
    const store = new MemoryStore(objectCost("a", 6) + objectCost("b", 4));
    const { request } = testApp({ store, maxBodyBytes: 10 });
    await request("PUT", "/api/buckets/a", { body: "aaaaaa" });
    const full = await request("PUT", "/api/buckets/b", { body: "bbbbb" });
    expect([full.status, await full.json()]).toEqual([507, { error: "store is full" }]);
    expect((await request("GET", "/api/buckets/b")).status).toBe(404);
    expect((await store.stats()).bytes).toBe(objectCost("a", 6));
    expect((await request("PUT", "/api/buckets/b", { body: "bbbb" })).status).toBe(200);
    expect((await request("PUT", "/api/buckets/a", { body: "aaaaaa" })).status).toBe(200);
    expect((await request("PUT", "/api/buckets/a", { body: "aaaaaaa" })).status).toBe(507);
    await request("DELETE", "/api/buckets/a");
    await request("DELETE", "/api/buckets/b");
    expect(await store.stats()).toEqual({ objects: 0, bytes: 0, maxBytes: store.maxBytes });
  });

  test("each object costs payload, 2 bytes per id character and 1 KiB: a 1 MiB store holds 1024 empty ones at most", async () => {
    expect(objectCost("ab", 5) - objectCost("a", 5)).toBe(2);
    const store = new MemoryStore(1024 * 1024);
    const { request } = testApp({ store });
    let status = 200;
    for (let i = 0; status === 200 && i < 5000; i++)
      status = (await request("PUT", `/api/buckets/${i}`)).status;
    expect(status).toBe(507);
    expect((await store.stats()).objects).toBeLessThan(1024);
  });

  test("uploads in flight hold what they have sent, not what they declare; past MAX_INFLIGHT_BYTES a PUT is 503", async () => {
    const { request } = testApp({ maxBodyBytes: 100, maxInflightBytes: 150 });
    // Eight slow senders that declared 100 bytes and sent one hold 8 bytes, not 800.
    const slow = Array.from({ length: 8 }, () => trickle(new Uint8Array(1)));
    const held = slow.map((u, i) =>
      request("PUT", `/api/buckets/slow${i}`, { body: u.body, headers: { "content-length": "100" } }),
    );
    await Bun.sleep(0);
    expect((await request("PUT", "/api/buckets/other", { body: "x".repeat(100) })).status).toBe(200);
    // One that has sent 99 of its 100 bytes holds 99: now a further 60 would pass 150.
    slow[0]?.send(new Uint8Array(98));
    await Bun.sleep(0);
    const refused = await request("PUT", "/api/buckets/other", { body: "x".repeat(60) });
    expect([refused.status, refused.headers.get("retry-after"), await refused.json()]).toEqual([
      503,
      "1",
      { error: "too many uploads in progress" },
    ]);
    expect((await request("PUT", "/api/buckets/other", { body: "x".repeat(40) })).status).toBe(200);
    for (const u of slow) u.end();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(8).fill(200));
    // Released once the bodies have arrived.
    expect((await request("PUT", "/api/buckets/other", { body: "x".repeat(100) })).status).toBe(200);
  });

  test("a body that breaks off is 400, stores nothing, and gives its in-flight bytes back", async () => {
    const store = new MemoryStore(1024 * 1024);
    const { request } = testApp({ store, maxBodyBytes: 100, maxInflightBytes: 100 });
    const broken = new ReadableStream({
      start(controller) {
        controller.enqueue(new Uint8Array(90));
        controller.error(new Error("connection reset"));
      },
    });
    expect((await request("PUT", "/api/buckets/cut", { body: broken })).status).toBe(400);
    expect((await store.stats()).objects).toBe(0);
    expect((await request("PUT", "/api/buckets/next", { body: "x".repeat(100) })).status).toBe(200);
  });
});

describe("errors, health, readiness and the drain", () => {
  test("a thrown error is a JSON 500, logged with the error, and the app keeps serving", async () => {
    class BrokenStore extends MemoryStore {
      override async get(id: string) {
        if (id === "boom") throw new Error("simulated store failure");
        return super.get(id);
      }
    }
    const { request, logs } = testApp({ store: new BrokenStore(1024) });
    const response = await request("GET", "/api/buckets/boom");
    expect([response.status, await response.json()]).toEqual([500, { error: "internal server error" }]);
    expect(logs.find((l) => l.level === "error")?.fields?.error).toBe("simulated store failure");
    expect((await request("GET", "/api/buckets/other")).status).toBe(404);
  });

  test("/healthz is 200; /readyz is 200, then 503 once shutdown began, and every response then asks to close", async () => {
    const lifecycle = { ready: true };
    const { request } = testApp({ lifecycle });
    expect((await request("GET", "/healthz")).status).toBe(200);
    expect((await request("GET", "/readyz")).status).toBe(200);
    for (const path of ["/healthz", "/readyz"]) expect((await request("POST", path)).status).toBe(405);
    expect((await request("GET", "/api/buckets/x")).headers.get("connection")).toBeNull();
    lifecycle.ready = false;
    const readyz = await request("GET", "/readyz");
    expect([readyz.status, await readyz.json()]).toEqual([503, { status: "shutting down" }]);
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

  test("/readyz follows the store's readiness", async () => {
    class Unready extends MemoryStore {
      override async ready() {
        return false;
      }
    }
    const { request } = testApp({ store: new Unready(1024) });
    expect((await request("GET", "/readyz")).status).toBe(503);
    expect((await request("GET", "/healthz")).status).toBe(200);
  });
});
