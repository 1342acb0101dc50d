/**
 * The benchmark's view of a server process: start a variant, read its CPU time from /proc, stop it.
 *
 * CPU time comes from /proc/<pid>/stat fields 14 (utime) and 15 (stime): for a process (not a single
 * thread) Linux sums them over all its threads, so Bun's GC and I/O threads are counted too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { Variant } from "./serve";

const SERVE = join(import.meta.dir, "serve.ts");

/** Clock ticks per second, the unit of utime and stime (`getconf CLK_TCK`; 100 on Linux x86-64). */
export function clockTicksPerSecond(): number {
  const out = Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim();
  const ticks = Number(out);
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error(`getconf CLK_TCK said ${JSON.stringify(out)}`);
  return ticks;
}

/** utime and stime of a process, in clock ticks. */
export function cpuTicks(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Field 2 (comm) is in parentheses and may contain spaces; count fields after the last ")".
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[14 - 3]);
  const stime = Number(rest[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc/${pid}/stat`);
  return { user: utime, system: stime };
}

/** CPU seconds a process used between two cpuTicks() readings, split into user and system time. */
export function cpuSecondsBetween(
  before: { user: number; system: number },
  after: { user: number; system: number },
  ticksPerSecond: number,
): { user: number; system: number } {
  return {
    user: (after.user - before.user) / ticksPerSecond,
    system: (after.system - before.system) / ticksPerSecond,
  };
}

/**
 * CPU time the whole machine spent busy (all CPUs, user + nice + system + irq + softirq), in clock ticks,
 * from the first line of /proc/stat. Minus the server's and wrk's own time it is what everything else on
 * the machine used during a round: the benchmark's noise, reported per round.
 */
export function machineBusyTicks(): number {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1, 8);
  // user nice system idle iowait irq softirq: everything but idle (3) and iowait (4).
  return fields.map(Number).reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0);
}

export interface Server {
  variant: Variant;
  /** The variant's name, or a name of its own for a second process of the same variant. */
  label: string;
  port: number;
  pid: number;
  process: Subprocess<"ignore", "pipe", "inherit">;
}

/** `cpu` pins the process (and every thread it starts) to one CPU with taskset. */
export async function startServer(
  variant: Variant,
  cpu: number | undefined,
  label: string = variant,
): Promise<Server> {
  const command = [process.execPath, SERVE, variant];
  const child = Bun.spawn(cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
    // Production mode as in the container image; the rest of the environment is the caller's.
    env: { ...process.env, NODE_ENV: "production" },
  });
  // taskset execs the command, so the child's pid is the server's pid.
  const line = await firstLine(child.stdout, 10_000);
  const port = (JSON.parse(line) as { port?: unknown }).port;
  if (typeof port !== "number") {
    child.kill();
    throw new Error(`${variant} did not report its port: ${line}`);
  }
  return { variant, label, port, pid: child.pid, process: child };
}

export async function stopServer(server: Server): Promise<void> {
  server.process.kill("SIGTERM");
  await server.process.exited;
}

async function firstLine(stream: ReadableStream<Uint8Array>, timeoutMs: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!text.includes("\n")) {
    const timeout = Bun.sleep(Math.max(0, deadline - Date.now())).then(() => "timeout" as const);
    const chunk = await Promise.race([reader.read(), timeout]);
    if (chunk === "timeout") throw new Error(`no start-up line within ${timeoutMs} ms`);
    if (chunk.done) throw new Error(`server exited before reporting its port: ${JSON.stringify(text)}`);
    text += decoder.decode(chunk.value, { stream: true });
  }
  reader.releaseLock();
  return text.slice(0, text.indexOf("\n"));
}
