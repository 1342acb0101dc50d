// The load: Debian's wrk (cheaper per request than the server: one core of it saturates the server's core)
// with scripts/bench/cycle.lua, which checks every response.
import { join } from "node:path";
import { spawnPinned, WRK_CPU } from "./proc";

/** One connection per wrk thread (see cycle.lua); 8 keep one server core busy without a long queue. */
export const CONNECTIONS = 8;

export interface WrkResult {
  requests: number;
  seconds: number;
  p50_us: number;
  p99_us: number;
}

/** "wrk 4.1.0": `wrk -v` prints "wrk <version> [epoll] Copyright ..." and exits 1. */
export const wrkVersion = () =>
  Bun.spawnSync(["wrk", "-v"]).stdout.toString().split(" ").slice(0, 2).join(" ");

/** The process (scripts/bench/interleave.ts pauses it) and its result, which throws on a single wrong answer. */
export function startWrk(base: string, seconds: number) {
  const script = join(import.meta.dir, "cycle.lua");
  const args = [`-t${CONNECTIONS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, "-s", script, base];
  const child = spawnPinned(WRK_CPU, ["wrk", ...args]);
  const result = (async (): Promise<WrkResult> => {
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    const line = out.split("\n").find((l) => l.startsWith("BENCH "));
    if (code !== 0 || line === undefined) throw new Error(`wrk exited with ${code}:\n${out}`);
    const r = JSON.parse(line.slice("BENCH ".length));
    if (r.wrong > 0 || r.socket_errors > 0 || r.requests === 0) {
      throw new Error(
        `${base}: ${r.wrong} wrong answers (first: ${r.first}), ${r.socket_errors} socket errors`,
      );
    }
    return r;
  })();
  // Awaited later; until then a failure must not count as unhandled.
  result.catch(() => {});
  return { child, result };
}

export const runWrk = (base: string, seconds: number) => startWrk(base, seconds).result;
