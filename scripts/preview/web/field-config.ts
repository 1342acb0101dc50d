/**
 * Field config as Grafana applies it to a panel's frames. Two parts live in the Grafana app, not in the
 * npm packages, so they are restated here: the panel plugins' defaults (what a new panel is saved with)
 * and the field-config registry that tells applyFieldOverrides which keys to copy onto each field.
 */
import {
  applyFieldOverrides,
  type DataFrame,
  type Field,
  type FieldConfig,
  FieldConfigOptionsRegistry,
  type FieldConfigPropertyItem,
  FieldType,
  type GrafanaTheme2,
  identityOverrideProcessor,
  type ThresholdsConfig,
} from "@grafana/data";
import type { DashboardPanel } from "./dashboard-types";

type Plain = Record<string, unknown>;

const DEFAULT_THRESHOLDS = {
  mode: "absolute",
  steps: [
    { color: "green", value: null },
    { color: "red", value: 80 },
  ],
};

/** Field defaults of Grafana's timeseries, stat and gauge plugins (public/app/plugins/panel/*). */
const PLUGIN_FIELD_DEFAULTS: Record<string, Plain> = {
  timeseries: {
    color: { mode: "palette-classic" },
    thresholds: DEFAULT_THRESHOLDS,
    mappings: [],
    custom: {
      drawStyle: "line",
      lineInterpolation: "linear",
      barAlignment: 0,
      barWidthFactor: 0.6,
      lineWidth: 1,
      fillOpacity: 0,
      gradientMode: "none",
      spanNulls: false,
      insertNulls: false,
      showPoints: "auto",
      pointSize: 5,
      stacking: { mode: "none", group: "A" },
      axisPlacement: "auto",
      axisLabel: "",
      axisColorMode: "text",
      axisBorderShow: false,
      axisCenteredZero: false,
      axisGridShow: true,
      scaleDistribution: { type: "linear" },
      hideFrom: { legend: false, tooltip: false, viz: false },
      thresholdsStyle: { mode: "off" },
    },
  },
  stat: { color: { mode: "thresholds" }, thresholds: DEFAULT_THRESHOLDS, mappings: [] },
  gauge: { color: { mode: "thresholds" }, thresholds: DEFAULT_THRESHOLDS, mappings: [] },
};

/** Panel option defaults of the same plugins. */
const PLUGIN_OPTION_DEFAULTS: Record<string, Plain> = {
  timeseries: {
    legend: { showLegend: true, displayMode: "list", placement: "bottom", calcs: [] },
    tooltip: { mode: "single", sort: "none" },
  },
  stat: {
    reduceOptions: { values: false, calcs: ["lastNotNull"], fields: "" },
    orientation: "auto",
    textMode: "auto",
    wideLayout: true,
    colorMode: "value",
    graphMode: "area",
    justifyMode: "auto",
    showPercentChange: false,
    percentChangeColorMode: "standard",
  },
  gauge: {
    reduceOptions: { values: false, calcs: ["lastNotNull"], fields: "" },
    orientation: "auto",
    showThresholdLabels: false,
    showThresholdMarkers: true,
    sizing: "auto",
  },
};

const isPlain = (value: unknown): value is Plain =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `value` with missing keys taken from `defaults`, recursively; arrays are taken whole. */
export function withDefaults<T>(value: T, defaults: Plain | undefined): T {
  if (!isPlain(value) || defaults === undefined) return value;
  const result: Plain = { ...defaults, ...value };
  for (const [key, fallback] of Object.entries(defaults)) {
    if (isPlain(fallback)) result[key] = withDefaults(result[key], fallback);
  }
  return result as T;
}

export function panelOptions<T>(panel: DashboardPanel): T {
  return withDefaults((panel.options ?? {}) as T, PLUGIN_OPTION_DEFAULTS[panel.type]);
}

export function panelFieldConfig(panel: DashboardPanel) {
  const source = panel.fieldConfig ?? { defaults: {}, overrides: [] };
  return {
    defaults: withDefaults(source.defaults as FieldConfig, PLUGIN_FIELD_DEFAULTS[panel.type]),
    overrides: source.overrides ?? [],
  };
}

/** JSON cannot hold -Infinity, so a dashboard's base threshold is null; Grafana reads it as -Infinity. */
function thresholdsProcessor(value: ThresholdsConfig | undefined): ThresholdsConfig | undefined {
  if (value === undefined) return value;
  return { ...value, steps: value.steps.map((step) => ({ ...step, value: step.value ?? -Infinity })) };
}

const none = () => null;
const numbers = (field: Field) => field.type === FieldType.number;
const any = () => true;
const item = (
  id: string,
  shouldApply: (field: Field) => boolean,
  process: FieldConfigPropertyItem["process"] = identityOverrideProcessor,
): FieldConfigPropertyItem => ({
  id,
  path: id,
  name: id,
  editor: none,
  override: none,
  process,
  shouldApply,
});

/** The keys this dashboard's panels use; "custom" carries the plugin's custom options as one object. */
export const fieldConfigRegistry = new FieldConfigOptionsRegistry(() => [
  item("unit", numbers),
  item("decimals", numbers),
  item("min", numbers),
  item("max", numbers),
  item("displayName", any),
  item("noValue", any),
  item("thresholds", any, thresholdsProcessor),
  item("mappings", any),
  item("color", any),
  item("custom", any),
]);

export function applyPanelFieldConfig(
  panel: DashboardPanel,
  frames: DataFrame[],
  theme: GrafanaTheme2,
  timeZone: string,
): DataFrame[] {
  return applyFieldOverrides({
    data: frames,
    fieldConfig: panelFieldConfig(panel),
    fieldConfigRegistry,
    replaceVariables: (text) => text,
    theme,
    timeZone,
  });
}
