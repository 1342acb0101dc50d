/** Environment variables -> validated config; a bad value stops the process with a clear message. */
import { expect, test } from "bun:test";
import { ConfigError, DEFAULTS, loadConfig, MIB, memoryLimitBytes } from "../server/config";

test("defaults: port 5000 on all interfaces, 8 MiB bodies, 256 MiB store, 64 MiB in flight, no drain", () => {
  expect(loadConfig({})).toEqual({ ...DEFAULTS, port: 5000, host: "0.0.0.0", drainDelayMs: 0 });
  expect([DEFAULTS.maxBodyBytes, DEFAULTS.maxStoreBytes, DEFAULTS.maxInflightBytes]).toEqual(
    [8, 256, 64].map((m) => m * MIB),
  );
});

test("reads every documented variable; STORE_URL (redis:// or rediss://) selects Redis", () => {
  const env = { PORT: "8080", HOST: "127.0.0.1", MAX_BODY_BYTES: "1024", MAX_STORE_BYTES: "4096" };
  const more = { MAX_INFLIGHT_BYTES: "2048", DRAIN_DELAY_MS: "5000", SHUTDOWN_TIMEOUT_MS: "100" };
  const values = Object.values(loadConfig({ ...env, ...more, STORE_URL: "rediss://:pw@valkey:6379" }));
  expect(values).toEqual([8080, "127.0.0.1", 1024, 4096, 2048, 5000, 100, "rediss://:pw@valkey:6379"]);
  expect(loadConfig({}).storeUrl).toBeUndefined();
});

test("the memory sizing rule gives 1280 MiB at the defaults, grows with both budgets, leaves a Redis store out", () => {
  expect(memoryLimitBytes(DEFAULTS)).toBe(1280 * MIB);
  expect(memoryLimitBytes(loadConfig({ STORE_URL: "redis://valkey" }))).toBe(512 * MIB);
  expect(memoryLimitBytes({ maxStoreBytes: 512 * MIB, maxInflightBytes: 64 * MIB })).toBe(2304 * MIB);
  expect(memoryLimitBytes({ maxStoreBytes: 256 * MIB, maxInflightBytes: 128 * MIB })).toBe(1408 * MIB);
});

test.each([
  ["PORT", "http", "PORT must be a whole number"],
  ["PORT", "70000", "PORT must be between 0 and 65535"],
  ["PORT", "-1", "PORT must be a whole number"],
  ["HOST", " ", "HOST is set but empty"],
  ["MAX_BODY_BYTES", "8MiB", "MAX_BODY_BYTES must be a whole number"],
  ["MAX_BODY_BYTES", "1e3", "MAX_BODY_BYTES must be a whole number"],
  ["MAX_BODY_BYTES", "0", "MAX_BODY_BYTES must be between 1 and"],
  ["MAX_STORE_BYTES", "0x10", "MAX_STORE_BYTES must be a whole number"],
  ["MAX_INFLIGHT_BYTES", "0", "MAX_INFLIGHT_BYTES must be between 1 and"],
  ["DRAIN_DELAY_MS", "-5", "DRAIN_DELAY_MS must be a whole number"],
  ["SHUTDOWN_TIMEOUT_MS", "soon", "SHUTDOWN_TIMEOUT_MS must be a whole number"],
  ...["valkey:6379", "http://valkey", "redis://"].map((url) => ["STORE_URL", url, "STORE_URL must be"]),
  // A body that passes the size limit could never be stored, or never be received.
  [
    "MAX_BODY_BYTES",
    "2000;MAX_STORE_BYTES=1000",
    "MAX_BODY_BYTES (2000) must not exceed MAX_STORE_BYTES (1000)",
  ],
  [
    "MAX_BODY_BYTES",
    "2000;MAX_INFLIGHT_BYTES=1000",
    "MAX_BODY_BYTES (2000) must not exceed MAX_INFLIGHT_BYTES (1000)",
  ],
])("%s=%s is refused: %s", (name, value, message) => {
  const [own, other] = value.split(";");
  const env = { [name]: own, ...(other === undefined ? {} : Object.fromEntries([other.split("=")])) };
  expect(() => loadConfig(env)).toThrow(ConfigError);
  expect(() => loadConfig(env)).toThrow(message);
});
