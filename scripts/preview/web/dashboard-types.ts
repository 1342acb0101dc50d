/** The parts of dashboards/storage-api.json the preview reads, typed with Grafana's published schema. */
import type { DataQuery, Panel } from "@grafana/schema";

/** A Prometheus target: the data source's own fields on top of the common query model. */
export interface PromTarget extends DataQuery {
  expr: string;
  legendFormat?: string;
}

export type DashboardPanel = Omit<Panel, "targets"> & { targets?: PromTarget[] };

export interface DashboardJson {
  title: string;
  time: { from: string; to: string };
  timezone?: string;
  refresh?: string;
  panels: DashboardPanel[];
}

/** What the page server passes on from grafana/provisioning/datasources/prometheus.yml. */
export interface DatasourceJson {
  uid: string;
  timeInterval: string;
}
