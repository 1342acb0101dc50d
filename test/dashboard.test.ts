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
import type { Any } from "./support/render";
import { read, root } from "./support/repo";

const [datasource] = parse(read("grafana/provisioning/datasources/prometheus.yml")).datasources;
const scrapeIntervals = ["compose", "kubernetes"].map(
  (flavour) => parse(read(`prometheus/prometheus.${flavour}.yml`)).global.scrape_interval,
);
const ms = (value: string) =>
  Number.parseInt(value, 10) * { s: 1e3, m: 6e4, h: 3.6e6 }[value.slice(-1) as "s"];
const panel = (title: string) => dashboard.panels.filter((candidate) => candidate.title === title);
/** The Grafana enum each option of a panel plugin takes (tsc sees them widened to string). */
const ENUMS: Record<string, [string, object][]> = {
  timeseries: [
    ["legend.displayMode", grafana.LegendDisplayMode],
    ["tooltip.mode", grafana.TooltipDisplayMode],
    ["tooltip.sort", grafana.SortOrder],
  ],
  stat: [
    ["colorMode", grafana.BigValueColorMode],
    ["graphMode", grafana.BigValueGraphMode],
    ["textMode", grafana.BigValueTextMode],
  ],
};

test("conforms to the Dashboard and panel option types of @grafana/schema (tsc), at the schemaVersion Grafana writes", () => {
  // Only that file, so a type error elsewhere cannot fail this test; the flags are tsconfig.json's that matter.
  const flags = [
    "--ignoreConfig",
    "--strict",
    "--module",
    "preserve",
    "--moduleResolution",
    "bundler",
    "--resolveJsonModule",
    "--skipLibCheck",
  ];
  const tsc = Bun.spawnSync(
    [`${root}/node_modules/.bin/tsc`, "--noEmit", ...flags, "test/support/dashboard-typecheck.ts"],
    { cwd: root },
  );
  expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
  expect(dashboard.schemaVersion).toBe(grafana.defaultDashboard.schemaVersion);
  for (const { title, type, options, fieldConfig } of dashboard.panels) {
    const checks: [string, object][] = [...(ENUMS[type] ?? []), ["thresholds.mode", grafana.ThresholdsMode]];
    for (const [path, values] of checks) {
      const value = path
        .split(".")
        .reduce(
          (node: Any, key) => node?.[key],
          path.startsWith("thresholds") ? fieldConfig.defaults : options,
        );
      expect({ title, path, known: value === undefined || Object.values(values).includes(value) }).toEqual({
        title,
        path,
        known: true,
      });
    }
  }
}, 30_000);

test("has a fixed uid (a stable URL), opens on 15 minutes, and refreshes no faster than Prometheus scrapes", () => {
  expect([dashboard.uid, dashboard.title, dashboard.time]).toEqual([
    "storage-api",
    "Storage API",
    { from: "now-15m", to: "now" },
  ]);
  expect(ms(dashboard.refresh)).toBeGreaterThanOrEqual(Math.max(...scrapeIntervals.map(ms)));
});

test("charts the requested average duration (sum over count, in seconds) and status codes (rate by status)", () => {
  const squash = (expr = "") => expr.replace(/\s+/g, " ");
  const series = (name: string) =>
    `rate(http_request_duration_seconds_${name}{job="storage_api"}[$__rate_interval])`;
  const [average] = panel("Average HTTP Request Duration");
  expect([average?.fieldConfig.defaults.unit, squash(average?.targets[0]?.expr)]).toEqual([
    "s",
    `sum(${series("sum")}) / sum(${series("count")})`,
  ]);
  const [codes] = panel("HTTP Status Codes");
  expect(codes?.targets.map(({ expr, legendFormat }) => [squash(expr), legendFormat])).toEqual([
    [`sum by (status) (${series("count")})`, "{{status}}"],
  ]);
  expect(codes?.fieldConfig.defaults.unit).toBe("reqps");
});

test("gives every panel a unique id, a title, a one-line description and queries, laid out on 24 columns without overlap", () => {
  const boxes = dashboard.panels.map(({ id, title, description, targets, gridPos: { x, y, w, h } }) => {
    expect({ title, description, queries: targets.length > 0 }).toEqual({
      title,
      description: expect.stringMatching(/^[^\n]{10,160}$/),
      queries: true,
    });
    expect({ title, inside: x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= 24 }).toEqual({
      title,
      inside: true,
    });
    return { id, title, x, y, w, h };
  });
  expect(new Set(boxes.map((box) => box.id)).size).toBe(boxes.length);
  const overlaps = boxes.flatMap((a, i) =>
    boxes
      .slice(i + 1)
      .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
      .map((b) => `${a.title} / ${b.title}`),
  );
  expect(overlaps).toEqual([]);
});

test('every query is valid PromQL, pins job="storage_api" in each selector, ranges over $__rate_interval, has a legend and the one data source', () => {
  for (const { panel, refId, expr, legendFormat, datasource: source } of queries) {
    // A sentinel duration stands for Grafana's variable, which the grammar does not know.
    const promql = expr.replaceAll("$__rate_interval", "17s");
    const problems: string[] = [];
    parser.parse(promql).iterate({
      enter: (node) => {
        const text = promql.slice(node.from, node.to);
        if (node.type.isError) problems.push(`syntax error at ${node.from}`);
        if (node.name === "VectorSelector" && !/[{,]\s*job\s*=\s*"storage_api"\s*[,}]/.test(text))
          problems.push(text);
        if (node.name === "MatrixSelector" && !text.endsWith("[17s]")) problems.push(text);
      },
    });
    expect({ panel, refId, problems, legend: legendFormat.trim() !== "", source }).toEqual({
      panel,
      refId,
      problems: [],
      legend: true,
      source: { type: "prometheus", uid: datasource.uid },
    });
  }
  for (const { title, datasource: source } of dashboard.panels)
    expect({ title, source }).toEqual({ title, source: { type: "prometheus", uid: "prometheus" } });
});

test("provisions one default, read-only Prometheus without credentials, its timeInterval every scrape interval", () => {
  expect(datasource).toMatchObject({
    type: "prometheus",
    uid: "prometheus",
    url: "http://prometheus:9090",
    access: "proxy",
    isDefault: true,
    editable: false,
  });
  expect(Object.keys(datasource).filter((key) => /auth|user|password|secure/i.test(key))).toEqual([]);
  // $__rate_interval is derived from timeInterval: a wrong value gives rate() too few samples or too many.
  expect(scrapeIntervals).toEqual(scrapeIntervals.map(() => datasource.jsonData.timeInterval));
  const [provider] = parse(read("grafana/provisioning/dashboards/storage-api.yml")).providers;
  expect([provider.type, provider.allowUiUpdates]).toEqual(["file", false]);
});
