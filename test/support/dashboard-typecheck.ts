// Compile-time conformance of dashboards/storage-api.json to the types Grafana publishes in
// @grafana/schema 13.2.3 (the dashboard model of Grafana 13.2). `tsc --noEmit` checks this file with the
// rest of the project, and test/dashboard.test.ts runs tsc on it alone, so `bun test` fails too.
// @grafana/schema ships TypeScript types and defaults, not a JSON Schema, so tsc is the validator.
import type { Dashboard } from "@grafana/schema";
import type { Options as GaugeOptions } from "@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen";
import type { Options as StatOptions } from "@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type { Options as TimeSeriesOptions } from "@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import dashboard from "../../dashboards/storage-api.json";
import type { JsonShape, KnownKeysOnly } from "./grafana-schema";

// Every field has the type Grafana declares, and every field it requires is there (schemaVersion,
// gridPos h/w/x/y, fieldConfig defaults and overrides, a colour and a value on every threshold step).
export const typed: JsonShape<Dashboard> = dashboard;

// No key that Grafana does not define, at any depth: Grafana ignores a misspelled key without a word.
export const known: KnownKeysOnly<typeof dashboard, Dashboard> = dashboard;

// Dashboard types panel `options` as an open record, so they are checked against the option types of
// the panel plugins used here. A JSON import loses each panel's literal `type`, so tsc can only demand
// that a panel's options fit one of these plugins; test/dashboard.test.ts checks the pairing by type.
type PluginOptions = TimeSeriesOptions | StatOptions | GaugeOptions;
export const options: KnownKeysOnly<(typeof dashboard.panels)[number]["options"], PluginOptions>[] =
  dashboard.panels.map((panel) => panel.options);

// Canaries: if the helpers above ever stopped rejecting anything, these lines would compile and tsc
// would fail on the unused @ts-expect-error instead of passing silently.
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
