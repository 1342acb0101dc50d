/**
 * `bun scripts/memory-attacks.ts [--root DIR] [--store BYTES] [--only TEXT]`: peak RSS of the server (a fresh
 * process per attack) under clients that try to exhaust its memory, against the sizing rule. Only 127.0.0.1;
 * every attack is bounded in count and time. Prints a Markdown table.
 */

import { readFileSync } from "node:fs";
import net from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig, MIB, memoryLimitBytes } from "../server/config";

const USAGE = `usage: bun scripts/memory-attacks.ts [--root DIR] [--store BYTES] [--only TEXT]
  --root DIR     run DIR/server/main.ts (another checkout, with its own node_modules); default: this one
  --store BYTES  MAX_STORE_BYTES for every attack (default: the server's own default)
  --only TEXT    run only the attacks whose name contains TEXT
  -h, --help     this text`;

let values: { root?: string; store?: string; only?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      root: { type: "string" },
      store: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  console.error(`memory-attacks: ${(error as Error).message} (see --help)`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.store !== undefined && !/^\d+$/.test(values.store)) {
  console.error(`memory-attacks: --store must be a number of bytes, got ${JSON.stringify(values.store)}`);
  process.exit(2);
}
const root = resolve(values.root ?? ".");
const storeEnv: Record<string, string> = values.store === undefined ? {} : { MAX_STORE_BYTES: values.store };
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

/** Opens a connection, writes `head` (+ `body`); a paused one never reads what the server sends. */
function open(port: number, head: string, body: Uint8Array | null, statuses: string[], read = true) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("data", (data) => statuses.push(data.toString("latin1").split("\r\n")[0] ?? ""));
  socket.on("connect", () => {
    socket.write(head);
    if (body) socket.write(body);
    if (!read) socket.pause();
  });
  return socket;
}

/** Opens `count` connections, holds them 8 s, returns the status lines. */
async function holdConnections(
  port: number,
  count: number,
  head: string,
  body: Uint8Array | null,
  read: boolean,
) {
  const statuses: string[] = [];
  const sockets = Array.from({ length: count }, () => open(port, head, body, statuses, read));
  await Bun.sleep(8000);
  for (const socket of sockets) socket.destroy();
  return statuses;
}

function tally(statuses: Iterable<string | number>): string {
  const counts = new Map<string, number>();
  for (const s of statuses) {
    const code = typeof s === "number" ? String(s) : (s.split(" ")[1] ?? s);
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return [...counts].map(([code, n]) => `${code} ×${n}`).join(", ") || "no answer";
}

const put = (s: Server, id: string, body: Uint8Array | string) =>
  fetch(`http://127.0.0.1:${s.port}/api/buckets/${id}`, { method: "PUT", body }).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });

const LOG_FLOOD = "20k PUTs refused with 507 (log volume; MAX_STORE_BYTES=MAX_BODY_BYTES=1 MiB)";
const attacks: Record<string, (s: Server) => Promise<string>> = {
  "300k empty PUTs under 256-character ids": async (s) => {
    const statuses: number[] = [];
    const pad = "i".repeat(248);
    let next = 0;
    const worker = async () => {
      while (next < 300_000) statuses.push(await put(s, `${pad}${String(next++).padStart(8, "0")}`, ""));
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    return tally(statuses);
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
    await put(s, "big", BIG);
    await holdConnections(s.port, 200, "GET /api/buckets/big HTTP/1.1\r\nHost: a\r\n\r\n", null, false);
    return "200 connections held";
  },
  "stalled readers: 6 rounds of 31 PUTs of 8 MiB, each object then read by a client that never reads": async (
    s,
  ) => {
    const statuses: string[] = [];
    const readers: net.Socket[] = [];
    for (let round = 0; round < 6; round++) {
      for (let i = 0; i < 31; i++) statuses.push(String(await put(s, `o${i}`, BIG)));
      for (let i = 0; i < 31; i++)
        readers.push(
          open(s.port, `GET /api/buckets/o${i} HTTP/1.1\r\nHost: a\r\n\r\n`, null, statuses, false),
        );
      await Bun.sleep(500);
    }
    for (const r of readers) r.destroy();
    return tally(statuses);
  },
  "8 slow uploaders (8 MiB declared, 1 byte sent) while a client PUTs 64 KiB for 15 s": async (s) => {
    const head = `PUT /api/buckets/slow HTTP/1.1\r\nHost: a\r\nContent-Length: ${BIG.byteLength}\r\n\r\n`;
    const until = Date.now() + 15_000;
    const slow = new Set<net.Socket>();
    const reopen = () => {
      if (Date.now() > until) return;
      const socket = open(s.port, head, BIG.subarray(0, 1), []);
      socket.on("close", () => slow.delete(socket) && reopen());
      slow.add(socket);
    };
    for (let i = 0; i < 8; i++) reopen();
    await Bun.sleep(500);
    const statuses: number[] = [];
    const body = new Uint8Array(64 * 1024);
    while (Date.now() < until) {
      statuses.push(await put(s, "legit", body));
      await Bun.sleep(100);
    }
    for (const socket of [...slow]) slow.delete(socket) && socket.destroy();
    return `64 KiB PUTs: ${tally(statuses)}`;
  },
  "a full store overwritten with 8 MiB bodies by 8 clients for 20 s": async (s) => {
    for (let i = 0; i < 30; i++) await put(s, `o${i}`, BIG);
    const until = Date.now() + 20_000;
    const statuses: number[] = [];
    const worker = async (w: number) => {
      for (let i = w; Date.now() < until; i += 8) statuses.push(await put(s, `o${i % 30}`, BIG));
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    return `${tally(statuses)} (${Math.round(statuses.length / 20)} PUTs/s)`;
  },
  [LOG_FLOOD]: async (s) => {
    await put(s, "fill", new Uint8Array(1000 * 1024));
    const before = s.logBytes();
    const statuses: number[] = [];
    const body = new Uint8Array(30 * 1024);
    const worker = async (w: number) => {
      for (let i = 0; i < 1000; i++) statuses.push(await put(s, `more${w}`, body));
    };
    await Promise.all(Array.from({ length: 20 }, (_, w) => worker(w)));
    return `${tally(statuses)}, ${s.logBytes() - before} bytes of logs`;
  },
};

const chosen = Object.entries(attacks).filter(([name]) => name.includes(values.only ?? ""));
if (chosen.length === 0) {
  console.error(`memory-attacks: no attack matches --only ${JSON.stringify(values.only)}`);
  process.exit(1);
}
const limit = (env: Record<string, string>) => Math.round(memoryLimitBytes(loadConfig(env)) / MIB);
console.log(
  `Server: ${root}/server/main.ts ${JSON.stringify(storeEnv)}. Peak RSS = VmHWM of a fresh process per attack.\n`,
);
console.log("| attack | rule (MiB) | peak RSS (MiB) | answers |\n| --- | --- | --- | --- |");
for (const [name, attack] of chosen) {
  const env = name === LOG_FLOOD ? { MAX_STORE_BYTES: `${MIB}`, MAX_BODY_BYTES: `${MIB}` } : storeEnv;
  const server = await start(env);
  try {
    const idle = peakMib(server.pid);
    const outcome = await attack(server);
    console.log(`| ${name} | ${limit(env)} | ${idle} → ${peakMib(server.pid)} | ${outcome} |`);
  } finally {
    await server.stop();
  }
}
