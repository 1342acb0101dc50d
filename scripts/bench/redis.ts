// The `service-redis` variant's store: Debian's redis-server on 127.0.0.1, on wrk's core so the measured
// server keeps its own; no persistence, as the scaled deployment runs Valkey. Stopped with the others.
import { RedisClient } from "bun";
import { spawnPinned, WRK_CPU } from "./proc";

export async function startRedis(): Promise<string> {
  if (Bun.which("redis-server") === null)
    throw new Error("redis-server is missing: apt-get install redis-server");
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  listener.stop(true);
  const url = `redis://127.0.0.1:${listener.port}`;
  const args = ["--port", String(listener.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  spawnPinned(WRK_CPU, ["redis-server", ...args]);
  for (let attempt = 0; attempt < 100; attempt++) {
    const client = new RedisClient(url, { autoReconnect: false });
    const pong = await client.ping().catch(() => undefined);
    client.close();
    if (pong) return url;
    await Bun.sleep(50);
  }
  throw new Error(`redis-server did not answer on ${url}`);
}
