/** The real process behind Bun's HTTP parser and router: start-up, framing, concurrency, shutdown. */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { objectCost } from "../server/store";
import { parseExposition, sampleValue } from "./support/exposition";
import { failedStart, type RunningServer, rawConnection, rawRequest, startServer } from "./support/server";

const CLOSE = "Host: test\r\nConnection: close\r\n";

describe("a running server", () => {
  let server: RunningServer;
  const metrics = async () => parseExposition(await (await fetch(`${server.url}/metrics`)).text());
  const count = async (labels: Record<string, string> = {}) =>
    (await metrics())
      .filter((s) => s.name === "http_request_duration_seconds_count")
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  beforeAll(async () => {
    server = await startServer({ MAX_BODY_BYTES: "1024", MAX_STORE_BYTES: "1048576" });
  });
  afterAll(async () => {
    await server.stop();
  });

  test("logs one start-up line with the port it bound, the limits and the version", () => {
    const start = server.logs.find((l) => l.msg === "storage api listening");
    expect(start).toMatchObject({
      level: "info",
      version: "1.0.0",
      maxBodyBytes: 1024,
      maxStoreBytes: 1048576,
    });
    expect(start?.port).toBe(Number(new URL(server.url).port));
  });

  test("a chunked PUT is stored; over MAX_BODY_BYTES, declared or chunked, it gets the app's JSON 413, counted", async () => {
    const chunked = (body: string) =>
      `PUT /api/buckets/c HTTP/1.1\r\n${CLOSE}Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    expect(await rawRequest(server.url, chunked("hello"))).toStartWith("HTTP/1.1 200");
    expect(await (await fetch(`${server.url}/api/buckets/c`)).text()).toBe("hello");
    const before = await count({ method: "PUT", status: "413" });
    expect(await rawRequest(server.url, chunked("x".repeat(2000)))).toStartWith("HTTP/1.1 413");
    const declared = await fetch(`${server.url}/api/buckets/big`, {
      method: "PUT",
      body: new Uint8Array(4 * 1024 * 1024),
    });
    expect([declared.status, await declared.json()]).toEqual([413, { error: "body larger than 1024 bytes" }]);
    expect(await count({ method: "PUT", status: "413" })).toBe(before + 2);
  });

  test("two Content-Length headers that agree are one length; framing Bun refuses never reaches the app", async () => {
    const before = await count();
    const put = (lengths: string[]) =>
      `PUT /api/buckets/dup HTTP/1.1\r\n${CLOSE}${lengths.map((l) => `Content-Length: ${l}\r\n`).join("")}\r\nhello`;
    expect(await rawRequest(server.url, put(["5", "5"]))).toStartWith("HTTP/1.1 200");
    expect(await (await fetch(`${server.url}/api/buckets/dup`)).text()).toBe("hello");
    const refused = [
      put(["5, 5"]),
      put(["5", "6"]),
      `GET /api/buckets/a HTTP/1.1\r\n${CLOSE}X-Big: ${"x".repeat(17 * 1024)}\r\n\r\n`,
    ];
    const answers = await Promise.all(refused.map((r) => rawRequest(server.url, r)));
    expect(answers.map((a) => a.split("\r\n")[0])).toEqual([
      "HTTP/1.1 400 Bad Request",
      "HTTP/1.1 400 Bad Request",
      "HTTP/1.1 431 Request Header Fields Too Large",
    ]);
    expect(await count()).toBe(before + 2);
  });

  test("an id with broken percent-encoding or invalid raw bytes is 400 behind Bun's router, and nothing is stored", async () => {
    for (const [method, id, error] of [
      ["PUT", "%ZZ", "id has a bad %-escape"],
      ["GET", "a%", "id has a bad %-escape"],
      ["PUT", "%C3%28", "id is not valid UTF-8"],
      ["DELETE", "%E2%82", "id is not valid UTF-8"],
    ]) {
      const response = await fetch(`${server.url}/api/buckets/${id}`, {
        method,
        body: method === "PUT" ? "data" : null,
      });
      expect({ id, status: response.status, body: await response.json() }).toEqual({
        id,
        status: 400,
        body: { error },
      });
    }
    for (const bytes of [
      [0x61, 0xff],
      [0x61, 0xc3, 0x28],
      [0x61, 0xef, 0xbf, 0xbd],
    ]) {
      const line = Buffer.concat([
        Buffer.from("PUT /api/buckets/"),
        Buffer.from(bytes),
        Buffer.from(` HTTP/1.1\r\n${CLOSE}Content-Length: 1\r\n\r\nx`),
      ]);
      expect({ bytes, answer: (await rawRequest(server.url, line)).slice(0, 12) }).toEqual({
        bytes,
        answer: "HTTP/1.1 400",
      });
    }
    expect(sampleValue(await metrics(), "storage_api_objects")).toBe(2);
  });

  test("POST on a bucket is 405 with a two-character Host, as with a long one", async () => {
    expect(
      await rawRequest(server.url, `POST /api/buckets/a HTTP/1.1\r\nHost: ab\r\nConnection: close\r\n\r\n`),
    ).toStartWith("HTTP/1.1 405");
  });

  test("a second instance on the same port exits with code 1 and says why, instead of sharing the port", async () => {
    const port = new URL(server.url).port;
    const { code, line } = await failedStart({ HOST: "127.0.0.1", PORT: port });
    expect(code).toBe(1);
    expect(line).toMatchObject({ level: "error", msg: `cannot listen on 127.0.0.1:${port}` });
  });

  test("concurrent PUT, GET and DELETE on shared ids lose nothing and tear nothing", async () => {
    // Each writer stores `size` copies of one byte value: an intact value is uniform and of the right length.
    const sizes = [1, 100, 700, 1024];
    const ids = ["s1", "s2", "s3"];
    const seen = { put: 0, get: 0 };
    const worker = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const url = `${server.url}/api/buckets/${ids[(w + i) % ids.length]}`;
        const op = (w + 2 * i) % 3;
        const size = sizes[(w + i) % sizes.length] as number;
        if (op === 0) {
          const put = await fetch(url, { method: "PUT", body: new Uint8Array(size).fill(size % 251) });
          expect(put.status).toBe(200);
          seen.put++;
        } else if (op === 1) {
          const response = await fetch(url);
          const bytes = new Uint8Array(await response.arrayBuffer());
          if (response.status === 404) continue;
          expect(sizes).toContain(bytes.length);
          expect(bytes.every((b) => b === bytes.length % 251)).toBe(true);
          seen.get++;
        } else {
          expect([204, 404]).toContain((await fetch(url, { method: "DELETE" })).status);
        }
      }
    };
    const before = await metrics();
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
    const all = await metrics();
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
  const MIB = 1024 * 1024;
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MAX_INFLIGHT_BYTES: String(16 * MIB) });
  });
  afterAll(async () => {
    await server.stop();
  });
  const put400s = async () =>
    parseExposition(await (await fetch(`${server.url}/metrics`)).text())
      .filter((s) => s.name === "http_request_duration_seconds_count" && s.labels.method === "PUT")
      .filter((s) => s.labels.status === "400")
      .reduce((sum, s) => sum + s.value, 0);

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
    const before = await put400s();
    for (let i = 0; i < 3; i++) {
      const c = await rawConnection(server.url);
      c.socket.write(`PUT /api/buckets/gone HTTP/1.1\r\nHost: test\r\nContent-Length: ${8 * MIB}\r\n\r\n`);
      c.socket.write(new Uint8Array(6 * MIB));
      await Bun.sleep(100);
      c.socket.end();
    }
    await Bun.sleep(300);
    expect(await put400s()).toBe(before);
    expect((await fetch(`${server.url}/api/buckets/gone`)).status).toBe(404);
    const bodies = [1, 2].map(() =>
      fetch(`${server.url}/api/buckets/next`, { method: "PUT", body: new Uint8Array(8 * MIB) }),
    );
    expect((await Promise.all(bodies)).map((r) => r.status)).toEqual([200, 200]);
  });

  test("HEAD answers GET's headers, Date included, without a body", async () => {
    await fetch(`${server.url}/api/buckets/h`, { method: "PUT", body: "hello" });
    const head = (await rawRequest(server.url, `HEAD /api/buckets/h HTTP/1.1\r\n${CLOSE}\r\n`)).toLowerCase();
    expect(head).toStartWith("http/1.1 200");
    expect(head).toContain("\r\ndate: ");
    expect(head).toEndWith("\r\ncontent-length: 5\r\n\r\n");
  });
});

test("a bad configuration value stops the process with exit code 2 and a message naming the variable", async () => {
  const { code, line } = await failedStart({ PORT: "not-a-port" });
  expect(code).toBe(2);
  expect(line).toMatchObject({
    level: "error",
    msg: 'invalid configuration: PORT must be a whole number, got "not-a-port"',
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

  test("keep-alive clients across SIGTERM: the drain is served with Connection: close, no request is reset, no 5xx", async () => {
    const server = await startServer({ DRAIN_DELAY_MS: "1500" });
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
      expect(await server.exited).toBe(0);
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("a second SIGTERM during the drain exits at once", async () => {
    const server = await startServer({ DRAIN_DELAY_MS: "60000" });
    try {
      server.proc.kill("SIGTERM");
      await server.logged("shutting down: draining");
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      server.proc.kill("SIGTERM");
      expect(await Promise.race([server.exited, Bun.sleep(5000).then(() => -1)])).toBe(143);
    } finally {
      await server.stop();
    }
  }, 20_000);
});
