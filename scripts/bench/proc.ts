// Servers (scripts/bench/serve.ts) on one core, wrk on the other, all stopped at the end or on a signal. CPU time:
// utime + stime of /proc/<pid>/stat, summed by Linux over all the process's threads.
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

const SERVER_CPU = 1;
export const WRK_CPU = 0;
const TICKS_PER_SECOND = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString());
const children = new Set<Subprocess>();

/** Spawns `command` pinned to `cpu` with taskset (on one core there is nothing to pin). */
export function spawnPinned(cpu: number, command: string[]) {
  const pin = availableParallelism() >= 2 ? ["taskset", "-c", String(cpu)] : [];
  const env = { ...process.env, NODE_ENV: "production" };
  const child = Bun.spawn([...pin, ...command], { stdin: "pipe", stdout: "pipe", stderr: "inherit", env });
  children.add(child);
  void child.exited.then(() => children.delete(child));
  return child;
}

/** SIGCONT too: a paused wrk would keep a SIGTERM pending. */
function killAll(): Subprocess[] {
  const running = [...children];
  for (const child of running) {
    child.kill("SIGTERM");
    child.kill("SIGCONT");
  }
  return running;
}
export const stopAll = () => Promise.all(killAll().map((child) => child.exited));
// Whatever ends this process (a signal, an uncaught error) ends its children too.
process.on("exit", killAll);
process.on("SIGINT", () => process.exit(130));
process.on("SIGTERM", () => process.exit(143));

export function cpuSeconds(pid: number): number {
  // Fields 14 and 15, counted after the ")" that ends field 2 (the command name may contain spaces).
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface Server {
  label: string;
  pid: number;
  base: string;
  /** A full GC in the server, then its RSS and JS heap in bytes. */
  memory(): Promise<{ rss: number; heap: number }>;
  stop(): Promise<unknown>;
}

export async function startServer(variant: string, label = variant): Promise<Server> {
  const child = spawnPinned(SERVER_CPU, [process.execPath, join(import.meta.dir, "serve.ts"), variant]);
  const lines = readLines(child.stdout);
  const next = async () => {
    const timeout = new Promise<{ done: true }>((done) => setTimeout(done, 15_000, { done: true }).unref());
    const line = await Promise.race([lines.next(), timeout]);
    if (line.done)
      throw new Error(`${label}: scripts/bench/serve.ts ${variant} did not answer (stderr above)`);
    return JSON.parse(line.value);
  };
  const { port } = await next();
  return {
    label,
    pid: child.pid,
    base: `http://127.0.0.1:${port}`,
    memory: () => {
      child.stdin.write("memory\n");
      child.stdin.flush();
      return next();
    },
    stop: () => {
      child.kill("SIGTERM");
      return child.exited;
    },
  };
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
      yield text.slice(0, end);
      text = text.slice(end + 1);
    }
  }
}
