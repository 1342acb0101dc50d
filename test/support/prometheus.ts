/**
 * Runs a throwaway real Prometheus (the binary on PATH; Debian's package in CI) on 127.0.0.1 and a free
 * port, with its config, TSDB and log in a fresh temporary directory outside the repository.
 * Always call stop() (afterAll / finally): it ends the process and deletes the directory.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export interface VectorSample {
  metric: Record<string, string>;
  /** [evaluation time in seconds, value as Prometheus prints it ("0.25", "NaN", "+Inf")]. */
  value: [number, string];
}

export interface RunningPrometheus {
  url: string;
  /** Instant query, sent as a form POST like Grafana's data source (httpMethod: POST) does. */
  query(expr: string, timeSeconds?: number): Promise<VectorSample[]>;
  /** Prometheus' own log so far, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  binary: string;
  jobName: string;
  /** host:port that the job scrapes. */
  target: string;
  scrapeInterval: string;
  timeoutMs?: number;
}

/** A port that was free a moment ago; Prometheus cannot report a port it picked itself (":0"). */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = mkdtempSync(join(tmpdir(), "storage-api-prometheus-"));
  const config = {
    global: { scrape_interval: options.scrapeInterval, evaluation_interval: options.scrapeInterval },
    scrape_configs: [{ job_name: options.jobName, static_configs: [{ targets: [options.target] }] }],
  };
  writeFileSync(join(dir, "prometheus.yml"), stringify(config));
  const logPath = join(dir, "prometheus.log");
  const url = `http://127.0.0.1:${freePort()}`;
  const proc = Bun.spawn(
    [
      options.binary,
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=${new URL(url).host}`,
    ],
    // Prometheus logs to stderr only.
    { stdin: "ignore", stdout: "ignore", stderr: Bun.file(logPath) },
  );
  const log = () => {
    try {
      return readFileSync(logPath, "utf8");
    } catch {
      return "";
    }
  };
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const output = log();
      await stop();
      throw new Error(`prometheus exited during start-up:\n${output}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      const output = log();
      await stop();
      throw new Error(`prometheus was not ready within ${options.timeoutMs ?? 15_000} ms:\n${output}`);
    }
    await Bun.sleep(100);
  }

  async function query(expr: string, timeSeconds?: number): Promise<VectorSample[]> {
    const form = new URLSearchParams({ query: expr });
    if (timeSeconds !== undefined) form.set("time", String(timeSeconds));
    const response = await fetch(`${url}/api/v1/query`, {
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

  return { url, query, log, stop };
}
