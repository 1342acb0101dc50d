/** Entry point: read the configuration, listen, drain on SIGTERM/SIGINT. Nothing else. */
import { createApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { drainOnSignals } from "./drain";
import { describeError, stdoutLogger as log } from "./log";
import { VERSION } from "./version";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  log("error", `invalid configuration: ${error.message}`);
  process.exit(2);
}

const lifecycle = { ready: true };
const app = createApp({ ...config, lifecycle, logger: log });
drainOnSignals(app, lifecycle, config, log);

try {
  app.listen({
    hostname: config.host,
    port: config.port,
    // Elysia asks for SO_REUSEPORT, which lets a second instance share the port and split the clients.
    reusePort: false,
    // Bun would answer 413 itself, unseen by the metrics; the app counts bodies as they arrive.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
  });
} catch (error) {
  log("error", `cannot listen on ${config.host}:${config.port}`, describeError(error));
  process.exit(1);
}

const port = app.server?.port;
log("info", "storage api listening", {
  address: `http://${config.host}:${port}`,
  version: VERSION,
  bun: Bun.version,
  ...config,
  // A password in STORE_URL stays out of the logs.
  storeUrl: config.storeUrl?.replace(/:[^:@/]*@/, ":***@"),
  port,
});
