/** Grafana's stat panel body: field values reduced by getFieldDisplayValues, drawn by BigValue. */
import {
  type DataFrame,
  type GrafanaTheme2,
  getDisplayValueAlignmentFactors,
  getFieldDisplayValues,
  type TimeRange,
  type VizOrientation,
} from "@grafana/data";
import type {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueJustifyMode,
  BigValueTextMode,
  PercentChangeColorMode,
  ReduceDataOptions,
  VizTextDisplayOptions,
} from "@grafana/schema";
import { BigValue, VizRepeater } from "@grafana/ui";
import type { DashboardPanel } from "../dashboard-types";
import { panelFieldConfig, panelOptions } from "../field-config";

interface StatOptions {
  reduceOptions: ReduceDataOptions;
  orientation: VizOrientation;
  colorMode: BigValueColorMode;
  graphMode: BigValueGraphMode;
  justifyMode: BigValueJustifyMode;
  textMode: BigValueTextMode;
  wideLayout: boolean;
  showPercentChange: boolean;
  percentChangeColorMode: PercentChangeColorMode;
  text?: VizTextDisplayOptions;
}

interface Props {
  panel: DashboardPanel;
  frames: DataFrame[];
  range: TimeRange;
  timeZone: string;
  theme: GrafanaTheme2;
  width: number;
  height: number;
}

export function StatViz({ panel, frames, range, timeZone, theme, width, height }: Props) {
  const options = panelOptions<StatOptions>(panel);
  const values = getFieldDisplayValues({
    fieldConfig: panelFieldConfig(panel),
    reduceOptions: options.reduceOptions,
    replaceVariables: (text) => text,
    theme,
    data: frames,
    sparkline: options.graphMode !== "none",
    percentChange: options.showPercentChange,
    timeZone,
  });
  return (
    <VizRepeater
      getValues={() => values}
      getAlignmentFactors={getDisplayValueAlignmentFactors}
      renderValue={({ value, alignmentFactors, width: itemWidth, height: itemHeight, count }) => (
        <BigValue
          value={value.display}
          count={count}
          sparkline={value.sparkline && { ...value.sparkline, timeRange: range }}
          colorMode={options.colorMode}
          graphMode={options.graphMode}
          justifyMode={options.justifyMode}
          textMode={options.textMode}
          alignmentFactors={alignmentFactors}
          text={options.text}
          width={itemWidth}
          height={itemHeight}
          theme={theme}
          disableWideLayout={!options.wideLayout}
          percentChangeColorMode={options.percentChangeColorMode}
        />
      )}
      width={width}
      height={height}
      source={frames}
      itemSpacing={3}
      renderCounter={0}
      autoGrid={true}
      orientation={options.orientation}
      minVizWidth={75}
      minVizHeight={75}
    />
  );
}
