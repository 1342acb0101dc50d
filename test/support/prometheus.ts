/**
 * Throwaway real Prometheus and Alertmanager processes (Debian's packages) on 127.0.0.1 and a free port,
 * each with its config, data and log in a fresh temporary directory outside the repository. Always call
 * stop() (afterAll / finally): it ends the process and deletes the directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { ALERTMANAGER, PROMETHEUS } from "./prerequisites";
import { type Any, readYaml, root } from "./repo";

/** The rule files the compose config loads, at their repository paths: every test Prometheus runs them. */
export const RULE_FILES: string[] = readYaml("prometheus/prometheus.compose.yml").rule_files.map(
  (path: string) => join(root, "prometheus", basename(path)),
);

/** [evaluation time in seconds, value as Prometheus prints it ("0.25", "NaN", "+Inf")]. */
export type VectorSample = { metric: Record<string, string>; value: [number, string] };
export type Daemon = Awaited<ReturnType<typeof startDaemon>>;
export type RunningPrometheus = Awaited<ReturnType<typeof startPrometheus>>;

/** A port that was free a moment ago; neither daemon nor redis-server can report a port it picked (":0"). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  listener.stop(true);
  return listener.port;
}

/** Polls until check() returns a value, or throws after timeoutMs naming what it waited for. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>) {
  for (const deadline = Date.now() + timeoutMs; ; await Bun.sleep(100)) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** Runs `command(dir, host:port)` and resolves once /-/ready answers 200; both daemons log to stderr. */
async function startDaemon(binary: string | null, command: (dir: string, address: string) => string[]) {
  const name = basename(binary ?? "");
  if (binary === null) throw new Error("CI is set: install prometheus and prometheus-alertmanager");
  const dir = mkdtempSync(join(tmpdir(), `storage-api-${name}-`));
  const logPath = join(dir, `${name}.log`);
  const url = `http://127.0.0.1:${freePort()}`;
  const proc = Bun.spawn([binary, ...command(dir, new URL(url).host)], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: Bun.file(logPath),
  });
  const log = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    if ((await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "late")])) === "late") {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const exited = () => proc.exitCode !== null || proc.signalCode !== null;
  const ready = () =>
    fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })
      .then(
        (response) => response.ok,
        () => false,
      )
      .then((ok) => (ok || exited() ? true : undefined));
  try {
    await waitFor(`${name} to be ready`, 15_000, ready);
    if (exited()) throw new Error("exited during start-up");
  } catch (error) {
    const output = log();
    await stop();
    throw new Error(`${name}: ${error}:\n${output}`);
  }
  return { url, log, stop };
}

/** Prometheus scraping one job, running the repository's rule files, sending alerts to an Alertmanager. */
export async function startPrometheus(job: string, target: string, interval: string, alertmanager?: string) {
  const daemon = await startDaemon(PROMETHEUS, (dir, address) => {
    const config = {
      global: { scrape_interval: interval, evaluation_interval: interval },
      rule_files: RULE_FILES,
      alerting: { alertmanagers: [{ static_configs: [{ targets: alertmanager ? [alertmanager] : [] }] }] },
      scrape_configs: [{ job_name: job, static_configs: [{ targets: [target] }] }],
    };
    writeFileSync(join(dir, "prometheus.yml"), stringify(config));
    return [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=${address}`,
    ];
  });

  /** Instant query, sent as a form POST like Grafana's data source (httpMethod: POST) does. */
  async function query(expr: string, timeSeconds?: number): Promise<VectorSample[]> {
    const form = new URLSearchParams({ query: expr, ...(timeSeconds ? { time: String(timeSeconds) } : {}) });
    const response = await fetch(`${daemon.url}/api/v1/query`, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(5000),
    });
    const body: Any = await response.json();
    if (body.status !== "success") throw new Error(`query failed: ${expr}: ${body.error ?? response.status}`);
    if (body.data.resultType !== "vector")
      throw new Error(`not an instant vector (${body.data.resultType}): ${expr}`);
    return body.data.result;
  }
  return { ...daemon, query };
}

/** Alertmanager with the given config file, as is; a single instance (no cluster port). */
export const startAlertmanager = (configFile: string) =>
  startDaemon(ALERTMANAGER, (dir, address) => [
    `--config.file=${configFile}`,
    `--storage.path=${dir}/data`,
    `--web.listen-address=${address}`,
    "--cluster.listen-address=",
  ]);
