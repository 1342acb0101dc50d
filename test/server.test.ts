/** The real process: start-up, configuration errors, concurrency, Bun's router and parser, shutdown. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { objectCost } from "../server/store";
import { parseExposition, sampleValue } from "./support/exposition";
import { type RunningServer, startServer } from "./support/server";

const ROOT = `${import.meta.dir}/..`;

/** Sends raw bytes on a new TCP connection; resolves with everything the server wrote back. */
function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  let received = "";
  let closed: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const socket = Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_, data) {
        received += data.toString();
      },
      close() {
        closed();
      },
      error() {
        closed();
      },
    },
  });
  return { socket, done, text: () => received };
}

/** Starts a server that must fail to start; resolves with its exit code and the one line it logged. */
async function failedStart(env: Record<string, string>) {
  const proc = Bun.spawn(["bun", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => -1)]);
  if (code === -1) proc.kill("SIGKILL");
  return { code, line: JSON.parse((await new Response(proc.stdout).text()).trim()) as unknown };
}

describe("a running server", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ MAX_BODY_BYTES: "1024", MAX_STORE_BYTES: "1048576" });
  });
  afterAll(async () => {
    await server.stop();
  });

  test("logs one start-up line with the address, limits and version, and serves", async () => {
    const start = server.logs.find((l) => l.msg === "storage api listening");
    expect(start).toMatchObject({
      level: "info",
      version: "1.0.0",
      maxBodyBytes: 1024,
      maxStoreBytes: 1048576,
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  test("a Content-Length far above the limit gets the app's JSON 413, counted in the metrics", async () => {
    const response = await fetch(`${server.url}/api/buckets/big`, {
      method: "PUT",
      body: new Uint8Array(4 * 1024 * 1024),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: "body larger than 1024 bytes" });
    const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(
      sampleValue(metrics, "http_request_duration_seconds_count", {
        method: "PUT",
        path: "/api/buckets/:id",
        status: "413",
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  test.each([
    ["PUT", "%ZZ"],
    ["PUT", "%C3%28"],
    ["GET", "%E2%82"],
    ["DELETE", "a%"],
  ])("%s of an id with broken percent-encoding (%s) is 400 behind Bun's router too", async (method, id) => {
    const response = await fetch(`${server.url}/api/buckets/${id}`, {
      method,
      body: method === "PUT" ? "data" : null,
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "id is not valid UTF-8" });
  });

  test.each([
    ["a raw 0xFF byte", [0x61, 0xff]],
    ["a raw truncated sequence", [0x61, 0xc3, 0x28]],
    ["a raw U+FFFD, which Bun also makes of invalid bytes", [0x61, 0xef, 0xbf, 0xbd]],
  ])("an id with %s in the request line is 400 and stores nothing", async (_, bytes) => {
    const connection = rawConnection(server.url);
    const socket = await connection.socket;
    const line = Buffer.concat([
      Buffer.from("PUT /api/buckets/"),
      Buffer.from(bytes),
      Buffer.from(" HTTP/1.1\r\n"),
    ]);
    socket.write(
      Buffer.concat([line, Buffer.from("Host: test\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")]),
    );
    await Promise.race([connection.done, Bun.sleep(5000)]);
    expect(connection.text()).toStartWith("HTTP/1.1 400");
    const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(sampleValue(metrics, "storage_api_objects")).toBe(0);
  });

  test("POST on a bucket is 405 with a Host header of two characters, as with a long one", async () => {
    const connection = rawConnection(server.url);
    (await connection.socket).write("POST /api/buckets/a HTTP/1.1\r\nHost: ab\r\nConnection: close\r\n\r\n");
    await Promise.race([connection.done, Bun.sleep(5000)]);
    expect(connection.text()).toStartWith("HTTP/1.1 405");
  });

  test("a request Bun's parser refuses (headers over 16 KiB: 431) never reaches the app or its metrics", async () => {
    const count = async () =>
      parseExposition(await (await fetch(`${server.url}/metrics`)).text())
        .filter((sample) => sample.name === "http_request_duration_seconds_count")
        .reduce((sum, sample) => sum + sample.value, 0);
    const before = await count();
    const connection = rawConnection(server.url);
    (await connection.socket).write(
      `GET /api/buckets/a HTTP/1.1\r\nHost: test\r\nX-Big: ${"x".repeat(17 * 1024)}\r\n\r\n`,
    );
    await Promise.race([connection.done, Bun.sleep(5000)]);
    expect(connection.text()).toStartWith("HTTP/1.1 431");
    expect(await count()).toBe(before);
  });

  test("a second instance on the same port exits with code 1 and says why, instead of sharing the port", async () => {
    const port = new URL(server.url).port;
    const { code, line } = await failedStart({ HOST: "127.0.0.1", PORT: port });
    expect(code).toBe(1);
    expect(line).toMatchObject({
      level: "error",
      msg: `cannot listen on 127.0.0.1:${port}`,
    });
  });

  test("an unknown path gets the JSON 404 and is counted under path=unmatched", async () => {
    const response = await fetch(`${server.url}/no/such/path`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "not found" });
    const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(
      sampleValue(metrics, "http_request_duration_seconds_count", {
        method: "GET",
        path: "unmatched",
        status: "404",
      }),
    ).toBeGreaterThanOrEqual(1);
  });

  test("concurrent PUT, GET and DELETE on shared ids lose nothing and tear nothing", async () => {
    // Each writer stores `size` copies of one byte value: an intact value is uniform and of the right length.
    const sizes = [1, 100, 700, 1024];
    const ids = ["s1", "s2", "s3"];
    const seen = { put: 0, get: 0, getMissing: 0, del: 0 };
    const worker = async (w: number) => {
      for (let i = 0; i < 40; i++) {
        const id = ids[(w + i) % ids.length] as string;
        const op = (w * 7 + i) % 3;
        if (op === 0) {
          const size = sizes[(w + i) % sizes.length] as number;
          const response = await fetch(`${server.url}/api/buckets/${id}`, {
            method: "PUT",
            body: new Uint8Array(size).fill(size % 251),
          });
          expect(response.status).toBe(200);
          seen.put++;
        } else if (op === 1) {
          const response = await fetch(`${server.url}/api/buckets/${id}`);
          if (response.status === 404) {
            await response.arrayBuffer();
            seen.getMissing++;
            continue;
          }
          expect(response.status).toBe(200);
          const bytes = new Uint8Array(await response.arrayBuffer());
          expect(sizes).toContain(bytes.length);
          expect(bytes.every((b) => b === bytes.length % 251)).toBe(true);
          seen.get++;
        } else {
          const response = await fetch(`${server.url}/api/buckets/${id}`, { method: "DELETE" });
          expect([204, 404]).toContain(response.status);
          seen.del++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    expect(seen.put).toBeGreaterThan(50);
    expect(seen.get + seen.getMissing).toBeGreaterThan(50);

    // The byte accounting matches what is really there.
    let bytes = 0;
    let objects = 0;
    for (const id of ids) {
      const response = await fetch(`${server.url}/api/buckets/${id}`);
      if (response.status === 200) {
        objects++;
        bytes += objectCost(id, (await response.arrayBuffer()).byteLength);
      } else {
        await response.arrayBuffer();
      }
    }
    const metrics = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    expect(sampleValue(metrics, "storage_api_objects")).toBe(objects);
    expect(sampleValue(metrics, "storage_api_stored_bytes")).toBe(bytes);

    // A write that was acknowledged is what the next read returns.
    await Promise.all(
      ids.map((id, n) => fetch(`${server.url}/api/buckets/${id}`, { method: "PUT", body: `final-${n}` })),
    );
    for (const [n, id] of ids.entries()) {
      expect(await (await fetch(`${server.url}/api/buckets/${id}`)).text()).toBe(`final-${n}`);
    }
  });
});

describe("configuration errors", () => {
  test("a bad value stops the process with exit code 2 and a message naming the variable", async () => {
    const { code, line } = await failedStart({ PORT: "not-a-port" });
    expect(code).toBe(2);
    expect(line).toMatchObject({
      level: "error",
      msg: 'invalid configuration: PORT must be a whole number, got "not-a-port"',
    });
  });
});

describe("graceful shutdown", () => {
  test.each(["SIGTERM", "SIGINT"] as const)(
    "on %s a request in flight still gets its answer, new connections are refused, exit code 0",
    async (signal) => {
      const server = await startServer();
      try {
        const inflight = rawConnection(server.url);
        const socket = await inflight.socket;
        // Headers and half the body: the handler is now waiting for the rest.
        socket.write("PUT /api/buckets/slow HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nhello");
        await Bun.sleep(100);
        server.proc.kill(signal);
        await server.logged("shutting down: draining");
        // The listener is closed: a new connection is refused.
        const refused = await Bun.connect({
          hostname: "127.0.0.1",
          port: Number(new URL(server.url).port),
          socket: { data() {} },
        }).then(
          (s) => {
            s.end();
            return false;
          },
          () => true,
        );
        expect(refused).toBe(true);
        socket.write("world");
        await Promise.race([inflight.done, Bun.sleep(5000)]);
        expect(inflight.text()).toStartWith("HTTP/1.1 200");
        const code = await Promise.race([server.exited, Bun.sleep(5000).then(() => -1)]);
        expect(code).toBe(0);
        expect(server.logs.at(-1)).toMatchObject({ msg: "stopped", signal });
      } finally {
        await server.stop();
      }
    },
    20_000,
  );
});

describe("shutdown behind a load balancer", () => {
  test("keep-alive clients across SIGTERM: the drain is served with Connection: close, no request is reset, no 5xx", async () => {
    const server = await startServer({ DRAIN_DELAY_MS: "1500" });
    const outcomes = { ok: 0, notReady: 0, closeHeader: 0, failures: [] as string[] };
    let signalled = false;
    const client = async (c: number) => {
      // Until readiness fails, bounded in time.
      const until = Date.now() + 15_000;
      for (let i = 0; Date.now() < until; i++) {
        const path = i % 10 === 1 ? "/readyz" : `/api/buckets/c${c}-${i % 5}`;
        try {
          const put = i % 3 === 0 && path !== "/readyz";
          const response = await fetch(`${server.url}${path}`, put ? { method: "PUT", body: "x" } : {});
          await response.arrayBuffer();
          if (response.status >= 500 && path !== "/readyz")
            outcomes.failures.push(`${response.status} ${path}`);
          if (response.status === 503 && path === "/readyz") {
            // A load balancer sends no new work to an instance that is not ready.
            outcomes.notReady++;
            return;
          }
          if (signalled && response.headers.get("connection") === "close") outcomes.closeHeader++;
          outcomes.ok++;
        } catch (error) {
          const code = (error as { code?: string }).code;
          outcomes.failures.push(String(code ?? error));
          return;
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
      // Every client saw readiness fail while its requests were still served, each told to reconnect.
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
