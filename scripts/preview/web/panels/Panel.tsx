/**
 * One dashboard panel: Grafana's PanelChrome (title, description) around the body its type draws. The
 * data-panel-* attributes are for the test and the preview's own check, not for looks.
 */
import { PanelChrome } from "@grafana/ui";
import { useEffect } from "react";
import type { DashboardPanel } from "../dashboard-types";
import type { Rect } from "../grid";
import { GaugeUnavailable } from "./GaugeUnavailable";
import { NoData } from "./NoData";
import { StatViz } from "./StatViz";
import { TimeSeriesViz } from "./TimeSeriesViz";
import { type QueryContext, usePanelData } from "./usePanelData";

/** Panel types drawn with Grafana's own components; any other gets a box that says why not. */
const DRAWN_TYPES = new Set(["timeseries", "stat"]);

interface Props {
  panel: DashboardPanel;
  /** Position in the dashboard's panel list. */
  index: number;
  rect: Rect;
  context: QueryContext;
  onSettled: (index: number) => void;
}

export function Panel({ panel, index, rect, context, onSettled }: Props) {
  // Grafana asks for at most one point per pixel of the panel's width.
  const data = usePanelData(panel, context, rect.width);
  const drawn = data.state === "data" && !DRAWN_TYPES.has(panel.type) ? "unsupported" : data.state;
  useEffect(() => {
    if (data.state !== "loading") onSettled(index);
  }, [data.state, index, onSettled]);

  const body = (width: number, height: number) => {
    if (data.state === "loading") return null;
    if (data.state === "error")
      return <div style={{ color: context.theme.colors.error.text }}>{data.message}</div>;
    if (data.state === "no-data") return <NoData />;
    const props = { panel, frames: data.frames, timeZone: context.timeZone, width, height };
    switch (panel.type) {
      case "timeseries":
        return <TimeSeriesViz {...props} range={context.range} />;
      case "stat":
        return <StatViz {...props} range={context.range} theme={context.theme} />;
      case "gauge":
        return <GaugeUnavailable {...props} theme={context.theme} />;
      default:
        return <div>Panel type {panel.type} is not drawn by this preview.</div>;
    }
  };

  return (
    <div
      data-panel-title={panel.title}
      data-panel-type={panel.type}
      data-panel-state={drawn}
      style={{ position: "absolute", ...rect }}
    >
      <PanelChrome
        width={rect.width}
        height={rect.height}
        title={panel.title}
        description={panel.description}
        statusMessage={data.state === "error" ? data.message : undefined}
      >
        {body}
      </PanelChrome>
    </div>
  );
}
