/** The repository files the preview reads: always the originals, never a copy. */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..", "..");
export const DASHBOARD_FILE = join(ROOT, "dashboards/storage-api.json");
export const COMPOSE_PROMETHEUS_FILE = join(ROOT, "prometheus/prometheus.compose.yml");
export const DATASOURCES_FILE = join(ROOT, "grafana/provisioning/datasources/prometheus.yml");
export const PICTURE_FILE = join(ROOT, "docs/dashboard.png");

export function readYaml(path: string): Record<string, unknown> {
  return Bun.YAML.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/** What Grafana takes from the provisioned Prometheus data source: its uid and scrape interval. */
export interface DatasourceSettings {
  uid: string;
  timeInterval: string;
}

export function datasourceSettings(): DatasourceSettings {
  const { datasources } = readYaml(DATASOURCES_FILE) as {
    datasources: Array<{ type: string; uid: string; jsonData?: { timeInterval?: string } }>;
  };
  const prometheus = datasources.find((source) => source.type === "prometheus");
  if (prometheus?.jsonData?.timeInterval === undefined) {
    throw new Error(`${DATASOURCES_FILE}: no prometheus data source with jsonData.timeInterval`);
  }
  return { uid: prometheus.uid, timeInterval: prometheus.jsonData.timeInterval };
}

/** "5s", "1m", "250ms" in milliseconds (the forms Prometheus and Grafana configs use here). */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text);
  if (match === null) throw new Error(`not a duration: ${text}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
}
