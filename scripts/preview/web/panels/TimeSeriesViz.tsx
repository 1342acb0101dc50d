/** Grafana's timeseries panel body: the TimeSeries graph of @grafana/ui with the panel's legend options. */
import { type DataFrame, FieldType, type TimeRange } from "@grafana/data";
import type { VizLegendOptions, VizTooltipOptions } from "@grafana/schema";
import { TimeSeries } from "@grafana/ui";
import type { DashboardPanel } from "../dashboard-types";
import { panelOptions } from "../field-config";
import { NoData } from "./NoData";

interface Props {
  panel: DashboardPanel;
  frames: DataFrame[];
  range: TimeRange;
  timeZone: string;
  width: number;
  height: number;
}

/** As Grafana's prepareGraphableFields: time and number fields only, non-finite values as gaps. */
function graphable(frames: DataFrame[]): DataFrame[] {
  return frames.flatMap((frame) => {
    const fields = frame.fields
      .filter((field) => field.type === FieldType.time || field.type === FieldType.number)
      .map((field) =>
        field.type === FieldType.number
          ? { ...field, values: field.values.map((v: number | null) => (Number.isFinite(v) ? v : null)) }
          : field,
      );
    return fields.some((field) => field.type === FieldType.number) ? [{ ...frame, fields }] : [];
  });
}

export function TimeSeriesViz({ panel, frames, range, timeZone, width, height }: Props) {
  const options = panelOptions<{ legend: VizLegendOptions; tooltip: VizTooltipOptions }>(panel);
  const series = graphable(frames);
  if (series.length === 0) return <NoData />;
  return (
    <TimeSeries
      frames={series}
      timeRange={range}
      timeZone={timeZone}
      width={width}
      height={height}
      legend={options.legend}
      options={options}
    />
  );
}
