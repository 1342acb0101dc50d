/** The API contract through app.handle() (no network): what each request answers and what is stored. */
import { describe, expect, test } from "bun:test";
import { MemoryStore, objectCost } from "../server/store";
import { BrokenStore, testApp } from "./support/app";

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);

/** A request body the client is still sending: `send` writes more, `end` closes it. */
function trickle(first: Uint8Array) {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const send = (bytes: Uint8Array) => void writer.write(bytes);
  send(first);
  return { body: readable, send, end: () => void writer.close() };
}

describe("the three routes", () => {
  test("PUT stores any body as raw bytes, whatever its content type, chunked or empty; GET returns them", async () => {
    const { request } = testApp();
    const chunked = trickle(binary.subarray(0, 100));
    chunked.send(binary.subarray(100));
    chunked.end();
    const bodies: Array<[string, string | Uint8Array | ReadableStream | null, Uint8Array | string]> = [
      ["application/octet-stream", binary, binary],
      ["application/json", '{"not":"parsed"', '{"not":"parsed"'],
      ["application/x-www-form-urlencoded", "a=1&b=2", "a=1&b=2"],
      ["text/plain; charset=utf-8", "héllo", "héllo"],
      ["multipart/form-data; boundary=x", "--x--", "--x--"],
      ["application/octet-stream", chunked.body, binary],
      ["", null, ""],
    ];
    for (const [type, body, stored] of bodies) {
      const put = await request("PUT", "/api/buckets/t", {
        body,
        headers: type ? { "content-type": type } : {},
      });
      expect({ type, status: put.status, body: await put.text() }).toEqual({ type, status: 200, body: "" });
      const get = await request("GET", "/api/buckets/t");
      expect(get.headers.get("content-type")).toBe("application/octet-stream");
      expect(Buffer.from(await get.arrayBuffer())).toEqual(Buffer.from(stored));
    }
  });

  test("every route answers as the API table says, row by row", async () => {
    const { request } = testApp();
    const [notFound, notAllowed] = ['{"error":"not found"}', '{"error":"method not allowed"}'];
    const [badEscape, notUtf8] = ['{"error":"id has a bad %-escape"}', '{"error":"id is not valid UTF-8"}'];
    const ids = ["a%20b", "a%2Fb", "%C3%A9t%C3%A9", "100%25", "why%3F", "%61bc", "i".repeat(1000)];
    // "METHOD path status body"; a PUT, POST or PATCH sends its path as the body.
    const rows = [
      "PUT /api/buckets/k 200 ",
      "PUT /api/buckets/k 200 ",
      "HEAD /api/buckets/k 200 ",
      "DELETE /api/buckets/k 204 ",
      `GET /api/buckets/k 404 ${notFound}`,
      `DELETE /api/buckets/k 404 ${notFound}`,
      ...["POST", "PATCH", "OPTIONS"].map((m) => `${m} /api/buckets/k 405 ${notAllowed}`),
      "PUT /api/buckets/t1 200 ",
      ...["/", "/api", "/api/buckets", "/api/buckets/", "/api/buckets/a/b", "/API/BUCKETS/t1"].map(
        (p) => `GET ${p} 404 ${notFound}`,
      ),
      // A trailing slash is another path, as in the original's Flask route.
      ...["PUT", "GET", "DELETE"].map((m) => `${m} /api/buckets/t1/ 404 ${notFound}`),
      "GET /api/buckets/t1 200 /api/buckets/t1",
      // Percent-decoded ids round-trip; a bad escape or invalid UTF-8 (U+FFFD stands for it) is refused.
      ...ids.map((id) => `PUT /api/buckets/${id} 200 `),
      "GET /api/buckets/a%2fb 200 /api/buckets/a%2Fb",
      "GET /api/buckets/abc 200 /api/buckets/%61bc",
      "DELETE /api/buckets/why%3F 204 ",
      ...["PUT", "GET", "DELETE"].flatMap((m) => [
        ...["%ZZ", "a%", "%E0%A4%A"].map((id) => `${m} /api/buckets/${id} 400 ${badEscape}`),
        ...["%C3%28", "a%EF%BF%BD"].map((id) => `${m} /api/buckets/${id} 400 ${notUtf8}`),
      ]),
    ];
    const answers = [];
    for (const [method = "", path = ""] of rows.map((row) => row.split(" "))) {
      const response = await request(method, path, {
        body: ["PUT", "POST", "PATCH"].includes(method) ? path : null,
      });
      answers.push(`${method} ${path} ${response.status} ${await response.text()}`);
    }
    expect(answers).toEqual(rows);
    const head = await request("HEAD", "/api/buckets/t1");
    const headers = ["content-length", "content-type"].map((name) => head.headers.get(name));
    expect(headers).toEqual(["15", "application/octet-stream"]);
    expect((await request("GET", "/nowhere")).headers.get("content-type")).toBe("application/json");
    for (const host of ["x", "ab", "abc"]) {
      const response = await testApp().app.handle(
        new Request(`http://${host}/api/buckets/x`, { method: "POST" }),
      );
      const got = [host, response.status, response.headers.get("allow")];
      expect(got).toEqual([host, 405, "GET, HEAD, PUT, DELETE"]);
    }
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
    const { request, statuses } = testApp({ store, maxBodyBytes: 10 });
    const puts = ["a aaaaaa", "b bbbbb", "b bbbb", "a AAAAAA", "a aaaaaaa", "c"].map(
      (p) => `PUT /api/buckets/${p}`,
    );
    expect(await statuses(...puts)).toEqual([200, 507, 200, 200, 507, 507]);
    expect(await (await request("GET", "/api/buckets/a")).text()).toBe("AAAAAA");
    expect(await statuses("DELETE /api/buckets/a", "DELETE /api/buckets/b")).toEqual([204, 204]);
    expect(await store.stats()).toEqual({ objects: 0, bytes: 0, maxBytes: store.maxBytes });
  });

  test("each object costs payload, 2 bytes per id character and 1 KiB: a 1 MiB store holds 1024 empty ones at most", async () => {
    expect(objectCost("ab", 5) - objectCost("a", 5)).toBe(2);
    const { statuses } = testApp({ maxStoreBytes: 1024 * 1024 });
    const results = await statuses(...Array.from({ length: 1025 }, (_, i) => `PUT /api/buckets/${i}`));
    expect([results.indexOf(507) > 1000, results.indexOf(507) < 1024]).toEqual([true, true]);
  });

  test("uploads in flight hold what they have sent, not what they declare; past MAX_INFLIGHT_BYTES a PUT is 503", async () => {
    // Bodies up to 64 KiB are read whole, uncounted; in k (1 kB) from 80k on, every one here is counted.
    const k = 1000;
    const { request } = testApp({ maxBodyBytes: 200 * k, maxInflightBytes: 300 * k });
    const put = (size: number) => request("PUT", "/api/buckets/other", { body: "x".repeat(size) });
    // Eight slow senders that declared 200k and sent one byte hold 8 bytes, not 1,600k.
    const slow = Array.from({ length: 8 }, () => trickle(new Uint8Array(1)));
    const held = slow.map((u, i) =>
      request("PUT", `/api/buckets/slow${i}`, { body: u.body, headers: { "content-length": `${200 * k}` } }),
    );
    await Bun.sleep(0);
    expect((await put(200 * k)).status).toBe(200);
    // One that has sent all but one of its bytes holds 200k: now a further 120k would pass 300k.
    slow[0]?.send(new Uint8Array(200 * k - 2));
    await Bun.sleep(0);
    const refused = await put(120 * k);
    const got = [refused.status, refused.headers.get("retry-after"), await refused.json()];
    expect(got).toEqual([503, "1", { error: "too many uploads in progress" }]);
    expect((await put(80 * k)).status).toBe(200);
    for (const u of slow) u.end();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(8).fill(200));
    // Released once the bodies have arrived.
    expect((await put(200 * k)).status).toBe(200);
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
    const { request, logs } = testApp({ store: new BrokenStore(1024) });
    const response = await request("GET", "/api/buckets/boom");
    expect([response.status, await response.json()]).toEqual([500, { error: "internal server error" }]);
    expect(logs.find((l) => l.level === "error")?.fields?.error).toBe("simulated store failure");
    expect((await request("GET", "/api/buckets/other")).status).toBe(404);
  });

  test("/healthz is 200; /readyz follows the store, is 503 once shutdown began, and every response then asks to close", async () => {
    const lifecycle = { ready: true };
    const { request, statuses } = testApp({ lifecycle });
    const unready = new MemoryStore(1024);
    unready.ready = async () => false;
    expect(await testApp({ store: unready }).statuses("GET /readyz", "GET /healthz")).toEqual([503, 200]);
    expect(await statuses("GET /healthz", "GET /readyz", "POST /healthz", "POST /readyz")).toEqual([
      200, 200, 405, 405,
    ]);
    expect((await request("GET", "/api/buckets/x")).headers.get("connection")).toBeNull();
    lifecycle.ready = false;
    const readyz = await request("GET", "/readyz");
    expect([readyz.status, await readyz.json()]).toEqual([503, { status: "shutting down" }]);
    for (const line of ["GET /api/buckets/x", "PUT /api/buckets/x", "GET /readyz", "GET /nowhere"]) {
      const [method = "", path = ""] = line.split(" ");
      const response = await request(method, path, method === "PUT" ? { body: "x" } : {});
      expect({ line, connection: response.headers.get("connection") }).toEqual({ line, connection: "close" });
    }
  });
});
