/** Entry point: read the configuration, listen, and shut down the way a load balancer needs. Nothing else. */
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
const app = createApp({ ...config, lifecycle, logger: log });

let stopping = false;

async function shutdown(signal: NodeJS.Signals, code: number): Promise<void> {
  if (stopping) {
    log("warn", "second signal: exiting at once", { signal });
    process.exit(code);
  }
  stopping = true;
  // /readyz turns 503 and responses carry Connection: close, while requests are still served.
  lifecycle.ready = false;
  log("info", "shutting down: draining", { signal, drainDelayMs: config.drainDelayMs });
  await Bun.sleep(config.drainDelayMs);
  const server = app.server;
  // Connections still open after the timeout (a stuck upload) are closed.
  const force = setTimeout(() => server?.stop(true), config.shutdownTimeoutMs);
  try {
    // Without force: the listener closes at once, in-flight requests run to completion.
    await server?.stop();
  } catch (error) {
    log("error", "error while stopping the server", describeError(error));
  }
  clearTimeout(force);
  log("info", "stopped", { signal });
  process.exit(0);
}

// Installed before listening, so no signal can arrive unhandled. Bun as PID 1 ignores SIGTERM without one.
process.on("SIGTERM", () => void shutdown("SIGTERM", 143));
process.on("SIGINT", () => void shutdown("SIGINT", 130));

try {
  app.listen({
    hostname: config.host,
    port: config.port,
    // Elysia asks for SO_REUSEPORT, which lets a second instance share the port and split the clients.
    reusePort: false,
    // Bun would answer 413 itself, unseen by the metrics; the app enforces MAX_BODY_BYTES from Content-Length.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  });
} catch (error) {
  log("error", `cannot listen on ${config.host}:${config.port}`, describeError(error));
  process.exit(1);
}

log("info", "storage api listening", {
  address: `http://${config.host}:${app.server?.port}`,
  version: VERSION,
  bun: Bun.version,
  ...config,
});
