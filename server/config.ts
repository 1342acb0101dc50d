/**
 * Environment variables -> a validated, typed configuration.
 * Every variable is documented in the README's configuration table; a bad value is a startup error
 * with a message that names the variable, never a silent fallback.
 */

export interface Config {
  /** TCP port to listen on. */
  port: number;
  /** Address to bind: 0.0.0.0 in containers, 127.0.0.1 in tests. */
  host: string;
  /** Largest accepted request body (bytes); larger bodies get 413. */
  maxBodyBytes: number;
  /** Total payload bytes the store may hold; a PUT past it gets 507. */
  maxStoreBytes: number;
  /** How long shutdown waits for in-flight requests before closing connections (milliseconds). */
  shutdownTimeoutMs: number;
}

export const MIB = 1024 * 1024;

export const DEFAULTS: Config = {
  port: 5000,
  host: "0.0.0.0",
  maxBodyBytes: 8 * MIB,
  maxStoreBytes: 256 * MIB,
  // Below Docker's default 10 s stop timeout, so the drain finishes before SIGKILL.
  shutdownTimeoutMs: 8000,
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  // Digits only: Number() would accept "1e3", "0x10" and " 12 ", which hide typos in a manifest.
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
  }
  const value = Number(raw.trim());
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${raw.trim()}`);
  }
  return value;
}

export function loadConfig(env: Env = process.env): Config {
  const host = env.HOST?.trim() || DEFAULTS.host;
  const config: Config = {
    // 0 asks the OS for a free port (tests use it); the start-up log line names the port chosen.
    port: integer(env, "PORT", DEFAULTS.port, 0, 65535),
    host,
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", DEFAULTS.maxBodyBytes, 1, 1024 * MIB),
    maxStoreBytes: integer(env, "MAX_STORE_BYTES", DEFAULTS.maxStoreBytes, 1, Number.MAX_SAFE_INTEGER),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", DEFAULTS.shutdownTimeoutMs, 0, 10 * 60 * 1000),
  };
  if (config.maxBodyBytes > config.maxStoreBytes) {
    throw new ConfigError(
      `MAX_BODY_BYTES (${config.maxBodyBytes}) must not exceed MAX_STORE_BYTES (${config.maxStoreBytes}): ` +
        "a body that passes the size limit could never be stored",
    );
  }
  return config;
}
