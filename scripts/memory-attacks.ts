/**
 * `bun scripts/memory-attacks.ts [--root DIR] [--only TEXT]`: peak RSS of the server (a fresh process per attack, default
 * limits) under clients that try to exhaust its memory. --root runs another checkout's server/main.ts.
 * Only 127.0.0.1; every attack is bounded in count and time. Prints a Markdown table.
 */

import { readFileSync } from "node:fs";
import net from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { root: { type: "string", default: "." }, only: { type: "string", default: "" } },
});
const root = resolve(values.root ?? ".");
const MIB = 1024 * 1024;
const BIG = new Uint8Array(8 * MIB).fill(120);

interface Server {
  port: number;
  pid: number;
  logBytes: () => number;
  stop: () => Promise<void>;
}

async function start(env: Record<string, string>): Promise<Server> {
  const proc = Bun.spawn(["bun", `${root}/server/main.ts`], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdout: "pipe",
    stderr: "ignore",
  });
  let logBytes = 0;
  let announce: (port: number) => void = () => {};
  const listening = new Promise<number>((done) => {
    announce = done;
  });
  void (async () => {
    for await (const chunk of proc.stdout) {
      logBytes += chunk.byteLength;
      const match = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(new TextDecoder().decode(chunk));
      if (match) announce(Number(match[1]));
    }
  })();
  const port = await Promise.race([listening, Bun.sleep(10_000).then(() => 0)]);
  if (port === 0) throw new Error("server did not start");
  return {
    port,
    pid: proc.pid,
    logBytes: () => logBytes,
    stop: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** VmHWM: the process's peak resident memory since it started, in MiB. */
function peakMib(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  return Math.round(Number(line?.[1]) / 1024);
}

/** Opens `count` connections, writes `head` (+ `body`) on each, holds them 8 s, returns the status lines. */
async function holdConnections(
  port: number,
  count: number,
  head: string,
  body: Uint8Array | null,
  read: boolean,
) {
  const statuses: string[] = [];
  const sockets = Array.from({ length: count }, () => {
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => {});
    socket.on("data", (data) => statuses.push(data.toString("latin1").split("\r\n")[0] ?? ""));
    socket.on("connect", () => {
      socket.write(head);
      if (body) socket.write(body);
      // A slow reader never reads what the server sends.
      if (!read) socket.pause();
    });
    return socket;
  });
  await Bun.sleep(8000);
  for (const socket of sockets) socket.destroy();
  return statuses;
}

function tally(statuses: string[]): string {
  const counts = new Map<string, number>();
  for (const s of statuses) {
    const code = s.split(" ")[1] ?? "?";
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return [...counts].map(([code, n]) => `${code} ×${n}`).join(", ") || "no answer";
}

const LOG_FLOOD = "20k PUTs refused with 507 (log volume; MAX_STORE_BYTES=MAX_BODY_BYTES=1 MiB)";
const attacks: Record<string, (s: Server) => Promise<string>> = {
  "300k empty PUTs under 256-character ids": async (s) => {
    const statuses = new Map<number, number>();
    const pad = "i".repeat(248);
    let next = 0;
    const worker = async () => {
      while (next < 300_000) {
        const id = `${pad}${String(next++).padStart(8, "0")}`;
        const r = await fetch(`http://127.0.0.1:${s.port}/api/buckets/${id}`, { method: "PUT", body: "" });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    return [...statuses].map(([code, n]) => `${code} ×${n}`).join(", ");
  },
  "200 uploads of 8 MiB held before their last byte": async (s) => {
    const head = `PUT /api/buckets/x HTTP/1.1\r\nHost: a\r\nContent-Length: ${BIG.byteLength}\r\n\r\n`;
    return tally(await holdConnections(s.port, 200, head, BIG.subarray(1), true));
  },
  "100 chunked uploads of 8 MiB held open": async (s) => {
    const chunk = Buffer.concat([
      Buffer.from(`${BIG.byteLength.toString(16)}\r\n`),
      BIG,
      Buffer.from("\r\n"),
    ]);
    const head = "PUT /api/buckets/c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    return tally(await holdConnections(s.port, 100, head, chunk, true));
  },
  "200 GETs of one 8 MiB object that never read": async (s) => {
    await fetch(`http://127.0.0.1:${s.port}/api/buckets/big`, { method: "PUT", body: BIG });
    const head = "GET /api/buckets/big HTTP/1.1\r\nHost: a\r\n\r\n";
    await holdConnections(s.port, 200, head, null, false);
    return "200 connections held";
  },
  "a full store overwritten with 8 MiB bodies by 8 clients for 20 s": async (s) => {
    const url = (i: number) => `http://127.0.0.1:${s.port}/api/buckets/o${i % 30}`;
    for (let i = 0; i < 30; i++) await fetch(url(i), { method: "PUT", body: BIG });
    const until = Date.now() + 20_000;
    let stored = 0;
    const worker = async (w: number) => {
      for (let i = w; Date.now() < until; i += 8) {
        if ((await fetch(url(i), { method: "PUT", body: BIG })).status === 200) stored++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    return `200 ×${stored}`;
  },
  [LOG_FLOOD]: async (s) => {
    await fetch(`http://127.0.0.1:${s.port}/api/buckets/fill`, {
      method: "PUT",
      body: new Uint8Array(1000 * 1024),
    });
    const before = s.logBytes();
    let refused = 0;
    const body = new Uint8Array(30 * 1024);
    const worker = async (w: number) => {
      for (let i = 0; i < 1000; i++) {
        const r = await fetch(`http://127.0.0.1:${s.port}/api/buckets/more${w}`, { method: "PUT", body });
        if (r.status === 507) refused++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, w) => worker(w)));
    return `507 ×${refused}, ${s.logBytes() - before} bytes of logs`;
  },
};

console.log(
  `Server: ${root}/server/main.ts, default limits. Peak RSS = VmHWM of a fresh process per attack.\n`,
);
console.log("| attack | peak RSS (MiB) | answers |\n| --- | --- | --- |");
for (const [name, attack] of Object.entries(attacks).filter(([name]) => name.includes(values.only ?? ""))) {
  const server = await start(
    name === LOG_FLOOD ? { MAX_STORE_BYTES: `${MIB}`, MAX_BODY_BYTES: `${MIB}` } : {},
  );
  try {
    const idle = peakMib(server.pid);
    const outcome = await attack(server);
    console.log(`| ${name} | ${idle} → ${peakMib(server.pid)} | ${outcome} |`);
  } finally {
    await server.stop();
  }
}
