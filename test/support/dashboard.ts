/** dashboards/storage-api.json for tests: its panels, and every query flattened with its panel's title. */
import dashboard from "../../dashboards/storage-api.json";

export { dashboard };

export type DashboardPanel = (typeof dashboard.panels)[number];

export interface DashboardQuery {
  panel: string;
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: string; uid: string };
}

export const queries: DashboardQuery[] = dashboard.panels.flatMap((panel) =>
  panel.targets.map(({ refId, expr, legendFormat, datasource }) => ({
    panel: panel.title,
    refId,
    expr,
    legendFormat,
    datasource,
  })),
);

export function panelTitled(title: string): DashboardPanel {
  const found = dashboard.panels.filter((panel) => panel.title === title);
  if (found.length !== 1)
    throw new Error(`expected one panel titled ${JSON.stringify(title)}, found ${found.length}`);
  return found[0] as DashboardPanel;
}
