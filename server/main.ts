/**
 * Entry point: read the configuration, listen, and shut down gracefully on SIGTERM/SIGINT. Nothing else.
 */
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { describeError, stdoutLogger as log } from "./log";
import type { Lifecycle } from "./ops";
import { VERSION } from "./version";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log("error", `invalid configuration: ${error.message}`);
  process.exit(2);
}

const lifecycle: Lifecycle = { ready: true };
const app = createApp({
  maxBodyBytes: config.maxBodyBytes,
  maxStoreBytes: config.maxStoreBytes,
  lifecycle,
  logger: log,
});

app.listen({
  hostname: config.host,
  port: config.port,
  // Bun answers 413 itself, before any hook runs, past this size, so that refusal would be invisible to
  // the metrics. The app enforces MAX_BODY_BYTES instead (from Content-Length, without reading the body:
  // a 300 MB upload is refused in 10 ms with no memory growth), so Bun's own limit is lifted.
  maxRequestBodySize: Number.MAX_SAFE_INTEGER,
});

log("info", "storage api listening", {
  address: `http://${config.host}:${app.server?.port}`,
  version: VERSION,
  bun: Bun.version,
  maxBodyBytes: config.maxBodyBytes,
  maxStoreBytes: config.maxStoreBytes,
});

let stopping = false;

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  // Readiness first, so a load balancer that still polls /readyz on a live connection stops sending work.
  lifecycle.ready = false;
  log("info", "shutting down: finishing in-flight requests", { signal, timeoutMs: config.shutdownTimeoutMs });
  const server = app.server;
  // After the timeout, connections still open (a stuck upload, an idle keep-alive) are closed.
  const force = setTimeout(() => server?.stop(true), config.shutdownTimeoutMs);
  try {
    // stop() without force: the listener closes at once, in-flight requests run to completion.
    await server?.stop();
  } catch (error) {
    log("error", "error while stopping the server", describeError(error));
  }
  clearTimeout(force);
  log("info", "stopped", { signal });
  process.exit(0);
}

// Bun running as PID 1 in a container ignores SIGTERM unless the process installs a handler.
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
