/**
 * Throwaway real Prometheus and Alertmanager processes (the binaries on PATH; Debian's packages in CI) on
 * 127.0.0.1 and a free port, each with its config, data and log in a fresh temporary directory outside the
 * repository. Always call stop() (afterAll / finally): it ends the process and deletes the directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parse, stringify } from "yaml";
import { list, mapping, read, root, text } from "./repo";

/** The rule files the compose config loads, at their repository paths: every test Prometheus runs them. */
export const RULE_FILES = list(
  mapping(parse(read("prometheus/prometheus.compose.yml")), "compose config").rule_files,
  "rule_files",
).map((path) => join(root, "prometheus", basename(text(path, "rule file"))));

export interface VectorSample {
  metric: Record<string, string>;
  /** [evaluation time in seconds, value as Prometheus prints it ("0.25", "NaN", "+Inf")]. */
  value: [number, string];
}

export interface Daemon {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

export interface RunningPrometheus extends Daemon {
  /** Instant query, sent as a form POST like Grafana's data source (httpMethod: POST) does. */
  query(expr: string, timeSeconds?: number): Promise<VectorSample[]>;
}

export interface PrometheusOptions {
  binary: string;
  jobName: string;
  target: string;
  scrapeInterval: string;
  /** host:port of the job's target, and of an Alertmanager to send alerts to. */
  alertmanager?: string;
  timeoutMs?: number;
}

/** A port that was free a moment ago; neither daemon can report a port it picked itself (":0"). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** Runs `command(dir, host:port)` and resolves once /-/ready answers 200; both daemons log to stderr. */
async function startDaemon(
  name: string,
  command: (dir: string, address: string) => string[],
  timeoutMs: number,
): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), `storage-api-${name}-`));
  const logPath = join(dir, `${name}.log`);
  const url = `http://127.0.0.1:${freePort()}`;
  const proc = Bun.spawn(command(dir, new URL(url).host), {
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(logPath),
  });
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, log, stop };
    const exited = proc.exitCode !== null || proc.signalCode !== null;
    if (exited || Date.now() > deadline) {
      const output = log();
      await stop();
      throw new Error(
        `${name} ${exited ? "exited during start-up" : `not ready in ${timeoutMs} ms`}:\n${output}`,
      );
    }
    await Bun.sleep(100);
  }
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const daemon = await startDaemon(
    "prometheus",
    (dir, address) => {
      const targets = options.alertmanager ? [options.alertmanager] : [];
      const config = {
        global: { scrape_interval: options.scrapeInterval, evaluation_interval: options.scrapeInterval },
        rule_files: RULE_FILES,
        alerting: { alertmanagers: [{ static_configs: [{ targets }] }] },
        scrape_configs: [{ job_name: options.jobName, static_configs: [{ targets: [options.target] }] }],
      };
      writeFileSync(join(dir, "prometheus.yml"), stringify(config));
      return [
        options.binary,
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=${address}`,
      ];
    },
    options.timeoutMs ?? 15_000,
  );

  async function query(expr: string, timeSeconds?: number): Promise<VectorSample[]> {
    const form = new URLSearchParams({ query: expr });
    if (timeSeconds !== undefined) form.set("time", String(timeSeconds));
    const response = await fetch(`${daemon.url}/api/v1/query`, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(5000),
    });
    const body = (await response.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: VectorSample[] };
    };
    if (body.status !== "success" || body.data === undefined) {
      throw new Error(`query failed: ${expr}: ${body.error ?? response.status}`);
    }
    if (body.data.resultType !== "vector")
      throw new Error(`not an instant vector (${body.data.resultType}): ${expr}`);
    return body.data.result;
  }

  return { ...daemon, query };
}

/** Alertmanager with the given config file, as is; a single instance (no cluster port). */
export function startAlertmanager(binary: string, configFile: string, timeoutMs = 15_000): Promise<Daemon> {
  return startDaemon(
    "alertmanager",
    (dir, address) => [
      binary,
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=${address}`,
      "--cluster.listen-address=",
    ],
    timeoutMs,
  );
}
