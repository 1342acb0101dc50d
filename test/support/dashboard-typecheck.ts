// dashboards/storage-api.json against the types of @grafana/schema 13.2.3 (Grafana 13.2's dashboard model),
// which ships TypeScript types, not a JSON Schema: tsc is the validator (test/dashboard.test.ts runs it).
import type { Dashboard } from "@grafana/schema";
import type { Options as GaugeOptions } from "@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen";
import type { Options as StatOptions } from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type { Options as TimeSeriesOptions } from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import dashboard from "../../dashboards/storage-api.json";
import type { JsonShape, KnownKeysOnly } from "./grafana-schema";

// Every field has the type Grafana declares, and every field it requires is there.
export const typed: JsonShape<Dashboard> = dashboard;

// No key that Grafana does not define, at any depth: Grafana ignores a misspelled key without a word.
export const known: KnownKeysOnly<typeof dashboard, Dashboard> = dashboard;

// Panel `options` is an open record in Dashboard: checked against the option types of the plugins used here.
type PluginOptions = TimeSeriesOptions | StatOptions | GaugeOptions;
export const options: KnownKeysOnly<(typeof dashboard.panels)[number]["options"], PluginOptions>[] =
  dashboard.panels.map((panel) => panel.options);

// Canaries: should the helpers stop rejecting anything, tsc fails on an unused @ts-expect-error.
const misspelled = {
  schemaVersion: 42,
  panels: [{ type: "stat", fieldConfig: { defaults: { unti: "s" }, overrides: [] } }],
};
// @ts-expect-error `unti` is not a field of FieldConfig
export const misspelledKey: KnownKeysOnly<typeof misspelled, Dashboard> = misspelled;
const mistyped = { schemaVersion: "42" };
// @ts-expect-error schemaVersion is a number
export const wrongType: JsonShape<Dashboard> = mistyped;
const legendTypo = { legend: { showLegned: true } };
// @ts-expect-error `showLegned` is not a legend option
export const misspelledOption: KnownKeysOnly<typeof legendTypo, PluginOptions> = legendTypo;
