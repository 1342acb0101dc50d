/** The real process behind Bun's HTTP parser and router: start-up, framing, concurrency, shutdown. */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { objectCost } from "../server/store";
import { parseExposition, sampleValue } from "./support/exposition";
import { failedStart, type RunningServer, rawConnection, rawRequest, startServer } from "./support/server";

const CLOSE = "Host: test\r\nConnection: close\r\n";
const MIB = 1024 * 1024;
const metrics = async (url: string) => parseExposition(await (await fetch(`${url}/metrics`)).text());
/** Requests counted so far, of one method and status if given. */
const count = async (url: string, method?: string, status?: string) =>
  (await metrics(url))
    .filter((s) => s.name === "http_request_duration_seconds_count")
    .filter((s) => method === undefined || (s.labels.method === method && s.labels.status === status))
    .reduce((sum, s) => sum + s.value, 0);

describe("a running server", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MAX_BODY_BYTES: "1024", MAX_STORE_BYTES: "1048576" });
  });
  afterAll(async () => {
    await server.stop();
  });

  test("requests at the edges of HTTP, sent raw, get the answer due; only those the app answers are counted", async () => {
    const put = (id: string, headers: string, body = "") =>
      `PUT /api/buckets/${id} HTTP/1.1\r\n${CLOSE}${headers}\r\n${body}`;
    const chunked = (id: string, body: string) =>
      put(id, "Transfer-Encoding: chunked\r\n", `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const rawId = (bytes: number[]) =>
      Buffer.concat([
        Buffer.from("GET /api/buckets/"),
        Buffer.from(bytes),
        Buffer.from(` HTTP/1.1\r\n${CLOSE}\r\n`),
      ]);
    // [request, status line, a part of the answer, counted by the app]
    const cases: Array<[string | Buffer, string, string, boolean]> = [
      [chunked("c", "hello"), "200", "", true],
      [chunked("c2", "x".repeat(2000)), "413", "body larger than 1024 bytes", true],
      // HEAD: GET's headers, Date too (Bun writes its own content-length in lower case, as header names allow).
      [`HEAD /api/buckets/c HTTP/1.1\r\n${CLOSE}\r\n`, "200", "\r\nDate: ", true],
      [`HEAD /api/buckets/c HTTP/1.1\r\n${CLOSE}\r\n`, "200", "\r\ncontent-length: 5\r\n\r\n", true],
      [put("big", "Content-Length: 4194304\r\n"), "413", "body larger than 1024 bytes", true],
      [put("dup", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), "200", "", true],
      [put("dup", "Content-Length: 5, 5\r\n", "hello"), "400", "", false],
      [put("dup", "Content-Length: 5\r\nContent-Length: 6\r\n", "hello"), "400", "", false],
      [`GET /api/buckets/a HTTP/1.1\r\n${CLOSE}X-Big: ${"x".repeat(17 * 1024)}\r\n\r\n`, "431", "", false],
      [put("%ZZ", "Content-Length: 1\r\n", "x"), "400", "id has a bad %-escape", true],
      [`DELETE /api/buckets/a% HTTP/1.1\r\n${CLOSE}\r\n`, "400", "id has a bad %-escape", true],
      [put("%C3%28", "Content-Length: 1\r\n", "x"), "400", "id is not valid UTF-8", true],
      [rawId([0x61, 0xff]), "400", "id is not valid UTF-8", true],
      [rawId([0x61, 0xc3, 0x28]), "400", "id is not valid UTF-8", true],
      [rawId([0x61, 0xef, 0xbf, 0xbd]), "400", "id is not valid UTF-8", true],
      [
        "POST /api/buckets/a HTTP/1.1\r\nHost: ab\r\nConnection: close\r\n\r\n",
        "405",
        "method not allowed",
        true,
      ],
    ];
    const before = await count(server.url);
    for (const [request, status, part] of cases) {
      const answer = await rawRequest(server.url, request);
      const sent = String(request).slice(0, 60);
      expect([sent, answer.slice(9, 12), answer.includes(part)]).toEqual([sent, status, true]);
    }
    expect(await count(server.url)).toBe(before + cases.filter(([, , , counted]) => counted).length);
    for (const id of ["c", "dup"])
      expect(await (await fetch(`${server.url}/api/buckets/${id}`)).text()).toBe("hello");
  });

  test("logs one start-up line with its port, limits and version; a bad configuration value exits 2, a port in use 1, each with one line saying why", async () => {
    const port = new URL(server.url).port;
    const start = { level: "info", version: "1.0.0", maxBodyBytes: 1024, maxStoreBytes: 1048576 };
    expect(server.logs.find((l) => l.msg === "storage api listening")).toMatchObject({
      ...start,
      port: +port,
    });
    expect(await failedStart({ PORT: "not-a-port" })).toMatchObject({
      code: 2,
      line: { level: "error", msg: 'invalid configuration: PORT must be a whole number, got "not-a-port"' },
    });
    // Instead of sharing the port (SO_REUSEPORT) and splitting the clients.
    const taken = await failedStart({ HOST: "127.0.0.1", PORT: port });
    expect(taken).toMatchObject({ code: 1, line: { msg: `cannot listen on 127.0.0.1:${port}` } });
  });

  test("concurrent PUT, GET and DELETE on shared ids lose nothing and tear nothing", async () => {
    // Each writer stores `size` copies of one byte value: an intact value is uniform and of the right length.
    const sizes = [1, 100, 700, 1024];
    const ids = ["s1", "s2", "s3"];
    const seen = { put: 0, get: 0 };
    const allowed: Record<string, number[]> = { PUT: [200], GET: [200, 404], DELETE: [204, 404] };
    const worker = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const url = `${server.url}/api/buckets/${ids[(w + i) % ids.length]}`;
        const size = sizes[(w + i) % sizes.length] as number;
        const op = ["PUT", "GET", "DELETE"][(w + 2 * i) % 3] as string;
        const body = op === "PUT" ? new Uint8Array(size).fill(size % 251) : null;
        const response = await fetch(url, { method: op, body });
        const bytes = new Uint8Array(await response.arrayBuffer());
        expect(allowed[op]).toContain(response.status);
        if (op === "PUT") seen.put++;
        if (op !== "GET" || response.status === 404) continue;
        expect(sizes.includes(bytes.length) && bytes.every((b) => b === bytes.length % 251)).toBe(true);
        seen.get++;
      }
    };
    const before = await metrics(server.url);
    let objects = sampleValue(before, "storage_api_objects");
    let bytes = sampleValue(before, "storage_api_stored_bytes");
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    expect(seen.put > 50 && seen.get > 20).toBe(true);
    // The byte accounting matches what is really there.
    for (const id of ids) {
      const response = await fetch(`${server.url}/api/buckets/${id}`);
      const size = (await response.arrayBuffer()).byteLength;
      if (response.status === 200) [objects, bytes] = [objects + 1, bytes + objectCost(id, size)];
    }
    const all = await metrics(server.url);
    expect([sampleValue(all, "storage_api_objects"), sampleValue(all, "storage_api_stored_bytes")]).toEqual([
      objects,
      bytes,
    ]);
    // A write that was acknowledged is what the next read returns.
    await Promise.all(
      ids.map((id, n) => fetch(`${server.url}/api/buckets/${id}`, { method: "PUT", body: `final-${n}` })),
    );
    for (const [n, id] of ids.entries())
      expect(await (await fetch(`${server.url}/api/buckets/${id}`)).text()).toBe(`final-${n}`);
  });
});

describe("memory held for clients", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MAX_INFLIGHT_BYTES: String(16 * MIB) });
  });
  afterAll(async () => {
    await server.stop();
  });
  test("readers that stall hold their object inside the budget (503 past it) until they leave", async () => {
    await fetch(`${server.url}/api/buckets/big`, { method: "PUT", body: new Uint8Array(8 * MIB) });
    // Clients that send a GET and never read the answer.
    const stalled = [1, 2].map(() => net.connect(Number(new URL(server.url).port), "127.0.0.1").pause());
    for (const c of stalled) c.write("GET /api/buckets/big HTTP/1.1\r\nHost: t\r\n\r\n");
    try {
      await Bun.sleep(300);
      const refused = await fetch(`${server.url}/api/buckets/big`);
      expect([refused.status, refused.headers.get("retry-after")]).toEqual([503, "1"]);
      // The object is replaced meanwhile: the old bytes stay counted while a reader holds them.
      await fetch(`${server.url}/api/buckets/big`, { method: "PUT", body: new Uint8Array(8 * MIB).fill(1) });
      expect((await fetch(`${server.url}/api/buckets/big`)).status).toBe(503);
    } finally {
      for (const c of stalled) c.destroy();
    }
    await Bun.sleep(300);
    const served = new Uint8Array(await (await fetch(`${server.url}/api/buckets/big`)).arrayBuffer());
    expect([served.length, served[0]]).toEqual([8 * MIB, 1]);
  });

  test("an upload its client abandons is not counted as an answer, stores nothing and gives its budget back", async () => {
    const before = await count(server.url, "PUT", "400");
    for (let i = 0; i < 3; i++) {
      const c = await rawConnection(server.url);
      c.socket.write(`PUT /api/buckets/gone HTTP/1.1\r\nHost: test\r\nContent-Length: ${8 * MIB}\r\n\r\n`);
      c.socket.write(new Uint8Array(6 * MIB));
      await Bun.sleep(100);
      c.socket.end();
    }
    await Bun.sleep(300);
    expect(await count(server.url, "PUT", "400")).toBe(before);
    expect((await fetch(`${server.url}/api/buckets/gone`)).status).toBe(404);
    const bodies = [1, 2].map(() =>
      fetch(`${server.url}/api/buckets/next`, { method: "PUT", body: new Uint8Array(8 * MIB) }),
    );
    expect((await Promise.all(bodies)).map((r) => r.status)).toEqual([200, 200]);
  });
});

describe("shutdown", () => {
  test.each(["SIGTERM", "SIGINT"] as const)(
    "on %s a request in flight still gets its answer, new connections are refused, exit code 0",
    async (signal) => {
      const server = await startServer();
      try {
        const inflight = await rawConnection(server.url);
        // Headers and half the body: the handler is now waiting for the rest.
        inflight.socket.write(
          "PUT /api/buckets/slow HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhello",
        );
        await Bun.sleep(100);
        server.proc.kill(signal);
        await server.logged("shutting down: draining");
        expect(
          await rawConnection(server.url).then(
            (c) => c.socket.end(),
            () => "refused",
          ),
        ).toBe("refused");
        inflight.socket.write("world");
        expect(await inflight.answer()).toStartWith("HTTP/1.1 200");
        expect(await Promise.race([server.exited, Bun.sleep(5000).then(() => -1)])).toBe(0);
        expect(server.logs.at(-1)).toMatchObject({ msg: "stopped", signal });
      } finally {
        await server.stop();
      }
    },
    20_000,
  );

  test("keep-alive clients across SIGTERM: the drain is served with Connection: close, nothing is reset, no 5xx; a second SIGTERM exits at once", async () => {
    const server = await startServer({ DRAIN_DELAY_MS: "60000" });
    const outcomes = { notReady: 0, closeHeader: 0, failures: [] as string[] };
    let signalled = false;
    const client = async (c: number) => {
      // Until readiness fails, bounded in time.
      for (let i = 0, until = Date.now() + 15_000; Date.now() < until; i++) {
        const path = i % 10 === 1 ? "/readyz" : `/api/buckets/c${c}-${i % 5}`;
        try {
          const put = i % 3 === 0 && path !== "/readyz";
          const response = await fetch(`${server.url}${path}`, put ? { method: "PUT", body: "x" } : {});
          await response.arrayBuffer();
          // A load balancer sends no new work to an instance that is not ready.
          if (response.status === 503 && path === "/readyz") return void outcomes.notReady++;
          if (response.status >= 500) outcomes.failures.push(`${response.status} ${path}`);
          if (signalled && response.headers.get("connection") === "close") outcomes.closeHeader++;
        } catch (error) {
          return void outcomes.failures.push(String((error as { code?: string }).code ?? error));
        }
      }
    };
    try {
      const clients = Array.from({ length: 16 }, (_, c) => client(c));
      await Bun.sleep(300);
      server.proc.kill("SIGTERM");
      signalled = true;
      await Promise.all(clients);
      expect(outcomes.failures).toEqual([]);
      expect(outcomes.notReady).toBe(16);
      expect(outcomes.closeHeader).toBeGreaterThan(16);
      server.proc.kill("SIGTERM");
      expect(await Promise.race([server.exited, Bun.sleep(5000).then(() => -1)])).toBe(143);
    } finally {
      await server.stop();
    }
  }, 30_000);
});
