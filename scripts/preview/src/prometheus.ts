/**
 * A real Prometheus (the binary on PATH; Debian's in CI) on 127.0.0.1 and a free port, configured from
 * prometheus/prometheus.compose.yml with only the addresses rewritten, its TSDB in a temp dir.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { onCleanup } from "./cleanup";
import { COMPOSE_PROMETHEUS_FILE, ROOT, readYaml } from "./repo";

export const PROMETHEUS_BINARY = Bun.which("prometheus");

export interface RunningPrometheus {
  url: string;
  /** The compose scrape interval, e.g. "5s". */
  scrapeInterval: string;
  /** Resolves once a scrape of the API that started after `afterMs` has been stored. */
  waitForScrape(afterMs: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

interface ScrapeConfig {
  job_name: string;
  static_configs?: Array<{ targets: string[] }>;
}

/** A port that was free a moment ago: Prometheus cannot report a port it picked itself. */
function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** The compose config with its targets pointed here, its rule files (the SLO panels read them) read from the
 * repository, and no Alertmanager to send to. */
function localConfig(apiTarget: string, selfTarget: string): { config: object; scrapeInterval: string } {
  const { alerting: _alerting, ...config } = readYaml(COMPOSE_PROMETHEUS_FILE) as {
    global: { scrape_interval: string };
    alerting?: unknown;
    rule_files: string[];
    scrape_configs: ScrapeConfig[];
  };
  config.rule_files = config.rule_files.map((path) => join(ROOT, "prometheus", basename(path)));
  const targets: Record<string, string> = { storage_api: apiTarget, prometheus: selfTarget };
  for (const job of config.scrape_configs) {
    const target = targets[job.job_name];
    if (target === undefined) throw new Error(`${COMPOSE_PROMETHEUS_FILE}: unknown job ${job.job_name}`);
    job.static_configs = [{ targets: [target] }];
  }
  return { config, scrapeInterval: config.global.scrape_interval };
}

export async function startPrometheus(apiTarget: string, timeoutMs = 20_000): Promise<RunningPrometheus> {
  if (PROMETHEUS_BINARY === null) throw new Error("prometheus is not on PATH (apt-get install prometheus)");
  const dir = mkdtempSync(join(tmpdir(), "dashboard-preview-prometheus-"));
  const host = `127.0.0.1:${freePort()}`;
  const { config, scrapeInterval } = localConfig(apiTarget, host);
  // JSON is YAML: Prometheus reads it as is.
  writeFileSync(join(dir, "prometheus.json"), JSON.stringify(config, null, 2));
  const logFile = join(dir, "prometheus.log");
  const proc = Bun.spawn(
    [
      PROMETHEUS_BINARY,
      `--config.file=${join(dir, "prometheus.json")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=${host}`,
    ],
    { stdin: "ignore", stdout: "ignore", stderr: Bun.file(logFile) },
  );
  const url = `http://${host}`;
  const log = () => readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) {
      proc.kill("SIGKILL");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  onCleanup(stop);

  /** Polls `check` every 200 ms; on time-out stops Prometheus and throws with its log. */
  const poll = async (what: string, ms: number, check: () => Promise<boolean>) => {
    const deadline = Date.now() + ms;
    while (!(await check().catch(() => false))) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        const output = log();
        await stop();
        throw new Error(`prometheus: ${what} failed within ${ms} ms:\n${output}`);
      }
      await Bun.sleep(200);
    }
  };
  await poll("start-up", timeoutMs, async () => (await fetch(`${url}/-/ready`)).ok);

  const waitForScrape = (afterMs: number, ms: number) =>
    poll("a scrape of the API", ms, async () => {
      // timestamp() of the bare selector is the scrape's start time; `and ... == 1` keeps successful ones.
      const query = 'timestamp(up{job="storage_api"}) and up{job="storage_api"} == 1';
      const response = await fetch(`${url}/api/v1/query`, {
        method: "POST",
        body: new URLSearchParams({ query }),
      });
      const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
      const started = body.data.result[0]?.value[1];
      return started !== undefined && Number(started) * 1000 > afterMs;
    });

  return { url, scrapeInterval, waitForScrape, stop };
}
