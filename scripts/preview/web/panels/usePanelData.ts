/** Runs a panel's queries once and applies its field config, like Grafana's query runner does. */
import type { DataFrame, GrafanaTheme2, TimeRange } from "@grafana/data";
import { useEffect, useState } from "react";
import type { DashboardPanel, DatasourceJson } from "../dashboard-types";
import { applyPanelFieldConfig } from "../field-config";
import { queryPanel } from "../prometheus-query";

export type PanelData =
  | { state: "loading" }
  | { state: "data"; frames: DataFrame[] }
  | { state: "no-data"; frames: DataFrame[] }
  | { state: "error"; message: string };

export interface QueryContext {
  datasource: DatasourceJson;
  range: TimeRange;
  timeZone: string;
  theme: GrafanaTheme2;
}

export function usePanelData(panel: DashboardPanel, context: QueryContext, maxDataPoints: number): PanelData {
  const [data, setData] = useState<PanelData>({ state: "loading" });
  useEffect(() => {
    queryPanel(panel, context.datasource, context.range, maxDataPoints).then(
      (frames) => {
        const applied = applyPanelFieldConfig(panel, frames, context.theme, context.timeZone);
        setData({ state: applied.length > 0 ? "data" : "no-data", frames: applied });
      },
      (error: unknown) => setData({ state: "error", message: String(error) }),
    );
  }, [panel, context, maxDataPoints]);
  return data;
}
