/** The dashboard page: its title and time range above the panels, placed on Grafana's grid. */
import { rangeUtil } from "@grafana/data";
import { useTheme2 } from "@grafana/ui";
import uiPackage from "@grafana/ui/package.json";
import { useCallback, useMemo, useRef } from "react";
import type { DashboardJson, DatasourceJson } from "./dashboard-types";
import { gridRect } from "./grid";
import { Panel } from "./panels/Panel";
import type { QueryContext } from "./panels/usePanelData";

interface Props {
  dashboard: DashboardJson;
  datasource: DatasourceJson;
  width: number;
}

/** Grafana's dashboard body padding on each side. */
const PADDING = 16;

export function Dashboard({ dashboard, datasource, width }: Props) {
  const theme = useTheme2();
  const timeZone = dashboard.timezone || "browser";
  const context: QueryContext = useMemo(
    () => ({ datasource, timeZone, theme, range: rangeUtil.convertRawToRange(dashboard.time, timeZone) }),
    [dashboard, datasource, timeZone, theme],
  );
  const gridWidth = width - 2 * PADDING;
  const panels = dashboard.panels.map((panel) => ({
    panel,
    rect: gridRect(panel.gridPos ?? { x: 0, y: 0, w: 12, h: 8 }, gridWidth),
  }));
  const gridHeight = Math.max(...panels.map(({ rect }) => rect.top + rect.height));

  // The page is ready once every panel has its data; two frames later the canvases have been drawn.
  const settled = useRef(new Set<number>());
  const onSettled = useCallback(
    (index: number) => {
      settled.current.add(index);
      if (settled.current.size === dashboard.panels.length) {
        requestAnimationFrame(() =>
          requestAnimationFrame(() => document.body.setAttribute("data-ready", "true")),
        );
      }
    },
    [dashboard.panels.length],
  );

  return (
    <div style={{ padding: PADDING, width, boxSizing: "border-box" }}>
      <header
        style={{
          display: "flex",
          alignItems: "baseline",
          gap: theme.spacing(2),
          marginBottom: theme.spacing(2),
        }}
      >
        <h1 style={{ margin: 0, fontSize: theme.typography.h3.fontSize }}>{dashboard.title}</h1>
        <span style={{ color: theme.colors.text.secondary }}>
          {rangeUtil.describeTimeRange(dashboard.time)} · refresh {dashboard.refresh ?? "off"}
        </span>
        <span
          style={{
            marginLeft: "auto",
            color: theme.colors.text.secondary,
            fontSize: theme.typography.bodySmall.fontSize,
          }}
        >
          Preview: panels drawn by @grafana/ui {uiPackage.version} from a real Prometheus; not the Grafana app
        </span>
      </header>
      <div style={{ position: "relative", height: gridHeight }}>
        {panels.map(({ panel, rect }, index) => (
          <Panel key={panel.id ?? index} {...{ panel, index, rect, context, onSettled }} />
        ))}
      </div>
    </div>
  );
}
