/**
 * A throwaway Debian redis-server on 127.0.0.1 and a free port, its files in a fresh temporary directory.
 * stop() and start() keep the port, so a client sees the same server go away and come back; pause() and
 * resume() freeze it (SIGSTOP), a server that accepts bytes and never answers. Always call close().
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { REDIS_SERVER } from "./prerequisites";
import { freePort } from "./prometheus";

export interface RedisOptions {
  /** With maxmemory-policy noeviction, as the scaled deployment runs Valkey. */
  maxmemory?: string;
  /** An append-only file fsync'd on every write, so a restart keeps every acknowledged write. */
  durable?: boolean;
}

export type RunningRedis = Awaited<ReturnType<typeof startRedis>>;

export async function startRedis(options: RedisOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), "storage-api-redis-"));
  const port = freePort();
  const args = [
    ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""],
    ...(options.durable ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]),
    ...(options.maxmemory ? ["--maxmemory", options.maxmemory, "--maxmemory-policy", "noeviction"] : []),
  ];
  let proc: Subprocess | undefined;
  let starts = 0;
  const kill = () => proc?.kill("SIGKILL");
  process.once("exit", kill);

  async function start() {
    const log = join(dir, `redis-${++starts}.log`);
    const started = Bun.spawn([REDIS_SERVER ?? "redis-server", ...args, "--logfile", log], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    proc = started;
    const read = () => readFileSync(log, { encoding: "utf8", flag: "a+" });
    for (const deadline = Date.now() + 10_000; !read().includes("Ready to accept connections"); ) {
      if (started.exitCode !== null || Date.now() > deadline) {
        started.kill("SIGKILL");
        throw new Error(`redis-server did not start: ${await new Response(started.stderr).text()}${read()}`);
      }
      await Bun.sleep(20);
    }
  }

  /** SIGKILL: a crash, no goodbye to the clients. */
  async function stop() {
    proc?.kill("SIGCONT");
    kill();
    await proc?.exited;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => proc?.kill("SIGSTOP"),
    resume: () => proc?.kill("SIGCONT"),
    async close() {
      await stop();
      process.off("exit", kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
