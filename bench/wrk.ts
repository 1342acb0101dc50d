/**
 * The load generator: Debian's `wrk` with bench/cycle.lua.
 *
 * Why wrk: a C event loop that needs less CPU per request than the server, so on its own core it keeps the
 * server's core saturated (bench/run.ts reports both processes' CPU use to show it); its Lua hooks let
 * every response be checked; and it is one `apt-get install` away on Debian.
 */
import { join } from "node:path";
import type { Subprocess } from "bun";

const SCRIPT = join(import.meta.dir, "cycle.lua");

/**
 * 8 connections, as the 8 workers of scripts/generate_traffic.sh. One thread per connection, because
 * wrk's Lua state is per thread and the script needs per-connection state (see cycle.lua). More
 * connections would only lengthen the queue on a server that is already saturated by these 8.
 */
export const CONNECTIONS = 8;

export interface WrkResult {
  requests: number;
  duration_us: number;
  latency_p50_us: number;
  latency_p99_us: number;
  latency_max_us: number;
  /** Responses whose status (and GET body length) cycle.lua checked. */
  checked: number;
  unexpected: number;
  first_unexpected: string;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** CPU time wrk itself used (user + system), in seconds. */
  cpu_seconds: number;
}

/** Installs wrk with apt-get when it is missing and we are root; otherwise says what to do. */
export function ensureWrk(): void {
  if (Bun.which("wrk") !== null) return;
  if (process.getuid?.() !== 0) {
    throw new Error("wrk is not installed; install it first: sudo apt-get install wrk (Debian/Ubuntu)");
  }
  console.error("wrk is not installed; installing the Debian package with apt-get...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () => Bun.spawnSync(["apt-get", "install", "-y", "wrk"], { env, stdout: "inherit" });
  // A fresh container has no package lists yet: update once and retry.
  if (install().exitCode !== 0 && Bun.spawnSync(["apt-get", "update"], { env }).exitCode === 0) install();
  if (Bun.which("wrk") === null) throw new Error("apt-get could not install wrk; install it by hand");
}

/** wrk processes running now, so an interrupted benchmark can stop them. */
const running = new Set<Subprocess>();

export function stopAllWrk(): void {
  for (const child of running) child.kill();
}

export function wrkVersion(): string {
  // `wrk -v` prints its version and usage and exits 1.
  const out = Bun.spawnSync(["wrk", "-v"]).stdout.toString();
  return out.split("\n")[0]?.trim() ?? "unknown";
}

/** `cpu` pins wrk (all its threads) to one CPU with taskset. */
export function runWrk(port: number, seconds: number, cpu: number | undefined): Promise<WrkResult> {
  return startWrk(port, seconds, cpu).result;
}

/**
 * Starts wrk and returns its process (taskset execs wrk, so signals reach wrk itself) with a promise of
 * its result: bench/interleaved.ts pauses and resumes it with SIGSTOP and SIGCONT.
 */
export function startWrk(
  port: number,
  seconds: number,
  cpu: number | undefined,
): { child: Subprocess; result: Promise<WrkResult> } {
  const command = [
    "wrk",
    `-t${CONNECTIONS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    "-s",
    SCRIPT,
    `http://127.0.0.1:${port}`,
  ];
  const child = Bun.spawn(cpu === undefined ? command : ["taskset", "-c", String(cpu), ...command], {
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  const result = (async () => {
    const [stdout, stderr, exitCode] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]).finally(() => running.delete(child));
    const line = stdout.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
    if (exitCode !== 0 || line === undefined) {
      throw new Error(`wrk failed (exit ${exitCode}):\n${stdout}${stderr}`);
    }
    const usage = child.resourceUsage();
    const cpuSeconds = usage === undefined ? Number.NaN : Number(usage.cpuTime.total) / 1e6;
    return {
      ...(JSON.parse(line.slice("BENCH_RESULT ".length)) as Omit<WrkResult, "cpu_seconds">),
      cpu_seconds: cpuSeconds,
    };
  })();
  return { child, result };
}
