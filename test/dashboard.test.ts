/**
 * dashboards/storage-api.json and its Grafana provisioning: the dashboard conforms to Grafana's published
 * types (tsc on test/support/dashboard-typecheck.ts) and every query parses with Prometheus' own PromQL
 * grammar (@prometheus-io/lezer-promql); then what a type cannot say, once over every panel and query.
 */
import { expect, test } from "bun:test";
import * as grafana from "@grafana/schema";
import { parser } from "@prometheus-io/lezer-promql";
import { parse } from "yaml";
import { dashboard, queries } from "./support/dashboard";
import { read, root } from "./support/repo";

const [datasource] = parse(read("grafana/provisioning/datasources/prometheus.yml")).datasources;
const scrapes = ["compose", "kubernetes"].map(
  (flavour) => parse(read(`prometheus/prometheus.${flavour}.yml`)).global,
);
const ms = (value: string) => Number.parseInt(value, 10) * ({ s: 1e3, m: 6e4 }[value.slice(-1)] ?? 0);
test("conforms to the Dashboard and panel option types of @grafana/schema (tsc) at the schemaVersion Grafana writes", () => {
  // That file alone, so a type error elsewhere cannot fail this test; the flags are tsconfig.json's that matter.
  const flags =
    "--noEmit --ignoreConfig --strict --module preserve --moduleResolution bundler --resolveJsonModule --skipLibCheck";
  const tsc = Bun.spawnSync(
    [`${root}/node_modules/.bin/tsc`, ...flags.split(" "), "test/support/dashboard-typecheck.ts"],
    { cwd: root },
  );
  expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
  expect(dashboard.schemaVersion).toBe(grafana.defaultDashboard.schemaVersion);
}, 30_000);

test("has a fixed uid (a stable URL), opens on 15 minutes, and refreshes no faster than Prometheus scrapes", () => {
  expect([dashboard.uid, dashboard.title, dashboard.time]).toEqual([
    "storage-api",
    "Storage API",
    { from: "now-15m", to: "now" },
  ]);
  expect(ms(dashboard.refresh)).toBeGreaterThanOrEqual(
    Math.max(...scrapes.map((scrape) => ms(scrape.scrape_interval))),
  );
});

test("charts the requested average duration (sum over count, in seconds) and status codes (rate by status)", () => {
  const series = (name: string) =>
    `rate(http_request_duration_seconds_${name}{job="storage_api"}[$__rate_interval])`;
  const charts = dashboard.panels.map(({ title, fieldConfig, targets }) => [
    title,
    fieldConfig.defaults.unit,
    ...targets.flatMap((t) => [t.expr.replace(/\s+/g, " "), t.legendFormat]),
  ]);
  expect(charts).toContainEqual([
    "Average HTTP Request Duration",
    "s",
    `sum(${series("sum")}) / sum(${series("count")})`,
    expect.any(String),
  ]);
  expect(charts).toContainEqual([
    "HTTP Status Codes",
    "reqps",
    `sum by (status) (${series("count")})`,
    "{{status}}",
  ]);
});

test('every panel has a one-line description; each query is PromQL pinning job="storage_api", over $__rate_interval, with a legend', () => {
  const source = { type: "prometheus", uid: datasource.uid };
  const problems = queries.flatMap(({ panel, refId, expr, legendFormat, datasource }) => {
    // A sentinel duration stands for Grafana's variable, which the grammar does not know.
    const promql = expr.replaceAll("$__rate_interval", "17s");
    const found = legendFormat.trim() && Bun.deepEquals(datasource, source) ? [] : ["legend or data source"];
    parser.parse(promql).iterate({
      enter: ({ type, name, from, to }) => {
        const text = promql.slice(from, to);
        if (type.isError) found.push(`syntax error at ${from}`);
        if (name === "VectorSelector" && !/[{,]\s*job\s*=\s*"storage_api"\s*[,}]/.test(text))
          found.push(text);
        if (name === "MatrixSelector" && !text.endsWith("[17s]")) found.push(text);
      },
    });
    return found.map((problem) => `${panel}/${refId}: ${problem}`);
  });
  expect([
    problems,
    dashboard.panels.filter((panel) => !Bun.deepEquals(panel.datasource, source)).map((panel) => panel.title),
  ]).toEqual([[], []]);
});

test("provisions one default, read-only Prometheus without credentials, its timeInterval every scrape interval", () => {
  expect(datasource).toMatchObject({
    type: "prometheus",
    uid: "prometheus",
    url: "http://prometheus:9090",
    isDefault: true,
    editable: false,
  });
  expect(Object.keys(datasource).filter((key) => /auth|user|password|secure/i.test(key))).toEqual([]);
  // $__rate_interval is derived from timeInterval: a wrong value gives rate() too few samples or too many.
  expect(scrapes.map((scrape) => scrape.scrape_interval)).toEqual(
    scrapes.map(() => datasource.jsonData.timeInterval),
  );
  const [provider] = parse(read("grafana/provisioning/dashboards/storage-api.yml")).providers;
  expect([provider.type, provider.allowUiUpdates, datasource.access]).toEqual(["file", false, "proxy"]);
});
