/**
 * Grafana 13.2 draws gauges with RadialGauge from @grafana/ui/internal, which the published @grafana/ui
 * does not ship (nor the older Gauge). So the box says so and shows the value as Grafana computes it.
 */
import {
  type DataFrame,
  formattedValueToString,
  type GrafanaTheme2,
  getFieldDisplayValues,
} from "@grafana/data";
import type { ReduceDataOptions } from "@grafana/schema";
import type { DashboardPanel } from "../dashboard-types";
import { panelFieldConfig, panelOptions } from "../field-config";

export const GAUGE_REASON =
  "Gauge not drawn: Grafana 13.2 draws it with RadialGauge from @grafana/ui/internal, " +
  "which the published @grafana/ui package does not ship. Value as Grafana's display code formats it:";

interface Props {
  panel: DashboardPanel;
  frames: DataFrame[];
  theme: GrafanaTheme2;
  timeZone: string;
}

export function GaugeUnavailable({ panel, frames, theme, timeZone }: Props) {
  const options = panelOptions<{ reduceOptions: ReduceDataOptions }>(panel);
  const values = getFieldDisplayValues({
    fieldConfig: panelFieldConfig(panel),
    reduceOptions: options.reduceOptions,
    replaceVariables: (text) => text,
    theme,
    data: frames,
    timeZone,
  });
  return (
    <div style={{ display: "flex", height: "100%", alignItems: "center", gap: theme.spacing(2) }}>
      <div
        style={{ flex: 1, color: theme.colors.text.secondary, fontSize: theme.typography.bodySmall.fontSize }}
      >
        {GAUGE_REASON}
      </div>
      {values.map(({ display }) => (
        <div key={display.title ?? "value"} data-gauge-value style={{ color: display.color, fontSize: 32 }}>
          {formattedValueToString(display)}
        </div>
      ))}
    </div>
  );
}
