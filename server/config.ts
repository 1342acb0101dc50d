/** Environment variables -> a validated, typed configuration; a bad value names the variable and stops the start. */

export interface Config {
  port: number;
  /** 0.0.0.0 in containers; 127.0.0.1 on a laptop or in tests. */
  host: string;
  /** Largest accepted request body; larger bodies get 413. */
  maxBodyBytes: number;
  /** What the store may hold, each object counted as payload + id + a fixed overhead; past it a PUT gets 507. */
  maxStoreBytes: number;
  /** Bytes of bodies being received, and separately of objects being sent; past either, 503 with Retry-After. */
  maxInflightBytes: number;
  /** After SIGTERM: how long /readyz answers 503 while requests are still served, so endpoints can be removed. */
  drainDelayMs: number;
  /** After the drain: how long in-flight requests may take before connections are closed. */
  shutdownTimeoutMs: number;
  /** Unset: the objects live in this process. redis:// or rediss://: in that server (server/redis-store.ts). */
  storeUrl?: string;
}

export const MIB = 1024 * 1024;

export const DEFAULTS: Config = {
  port: 5000,
  host: "0.0.0.0",
  maxBodyBytes: 8 * MIB,
  maxStoreBytes: 256 * MIB,
  maxInflightBytes: 64 * MIB,
  // No load balancer in front by default; Kubernetes sets its own (k8s/base/storage-api.yaml).
  drainDelayMs: 0,
  // Below Docker's default 10 s stop timeout, so the shutdown finishes before SIGKILL.
  shutdownTimeoutMs: 8000,
};

/** Memory (RSS) the process may reach whatever clients do: the container limit of compose and Kubernetes. */
export function memoryLimitBytes(c: Pick<Config, "maxStoreBytes" | "maxInflightBytes" | "storeUrl">): number {
  // docs/decisions.md#memory says where each term comes from; with STORE_URL, garbage replaces the store.
  return 4 * (c.storeUrl ? c.maxInflightBytes : c.maxStoreBytes) + 2 * c.maxInflightBytes + 128 * MIB;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  // Digits only: Number() would accept "1e3" and "0x10", which hide typos in a manifest.
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${raw}`);
  }
  return value;
}

function host(raw: string | undefined): string {
  if (raw === undefined) return DEFAULTS.host;
  // An empty HOST would bind every interface; say so rather than guess.
  if (raw.trim() === "")
    throw new ConfigError("HOST is set but empty: unset it for 0.0.0.0, or name an address");
  return raw.trim();
}

function atMost(small: [string, number], large: [string, number], why: string): void {
  if (small[1] > large[1]) {
    throw new ConfigError(`${small[0]} (${small[1]}) must not exceed ${large[0]} (${large[1]}): ${why}`);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const minutes = 60 * 1000;
  const config: Config = {
    // 0 asks the OS for a free port (tests use it); the start-up log line names the port chosen.
    port: integer(env, "PORT", DEFAULTS.port, 0, 65535),
    host: host(env.HOST),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, 1, 1024 * MIB),
    maxStoreBytes: integer(env, "MAX_STORE_BYTES", DEFAULTS.maxStoreBytes, 1, 1024 * 1024 * MIB),
    maxInflightBytes: integer(env, "MAX_INFLIGHT_BYTES", DEFAULTS.maxInflightBytes, 1, 1024 * 1024 * MIB),
    drainDelayMs: integer(env, "DRAIN_DELAY_MS", DEFAULTS.drainDelayMs, 0, 10 * minutes),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", DEFAULTS.shutdownTimeoutMs, 0, 10 * minutes),
    storeUrl: env.STORE_URL || undefined,
  };
  if (config.storeUrl && !/^rediss?:\/\/\S+$/.test(config.storeUrl))
    throw new ConfigError("STORE_URL must be a redis:// or rediss:// URL");
  const body: [string, number] = ["MAX_BODY_BYTES", config.maxBodyBytes];
  atMost(
    body,
    ["MAX_STORE_BYTES", config.maxStoreBytes],
    "a body that passes the size limit could never be stored",
  );
  atMost(
    body,
    ["MAX_INFLIGHT_BYTES", config.maxInflightBytes],
    "a body that passes the size limit could never be received",
  );
  return config;
}
