/**
 * dashboards/storage-api.json and the Grafana provisioning around it: the dashboard conforms to Grafana's
 * published types (tsc on test/support/dashboard-typecheck.ts), plus what a type cannot express - the
 * user-requested panels and queries, one data source uid everywhere, `$__rate_interval` in every range,
 * `job="storage_api"` in every selector, a layout without overlaps, and provisioning that agrees with the
 * Prometheus configuration and with where compose and Kubernetes mount the dashboard.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BigValueColorMode,
  BigValueGraphMode,
  BigValueTextMode,
  defaultDashboard,
  LegendDisplayMode,
  SortOrder,
  ThresholdsMode,
  TooltipDisplayMode,
} from "@grafana/schema";
import { parse } from "yaml";
import { dashboard, panelTitled, queries } from "./support/dashboard";
import { type Mapping, mapping, read, root } from "./support/repo";

function single(value: unknown, what: string): Mapping {
  if (!Array.isArray(value) || value.length !== 1) throw new Error(`${what} is not a list of one entry`);
  return mapping(value[0], `${what}[0]`);
}

/** Prometheus/Grafana duration ("5s", "1m") in milliseconds. */
function durationMs(value: unknown): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(String(value));
  if (match === null) throw new Error(`not a duration: ${String(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
  return Number(match[1]) * unit;
}

const datasourceFile = () =>
  single(
    mapping(parse(read("grafana/provisioning/datasources/prometheus.yml")), "datasources file").datasources,
    "datasources",
  );
const providerFile = () =>
  single(
    mapping(parse(read("grafana/provisioning/dashboards/storage-api.yml")), "provider file").providers,
    "providers",
  );
const scrapeInterval = (path: string) =>
  mapping(mapping(parse(read(path)), path).global, `${path} global`).scrape_interval;

/** Where docker compose and the Kubernetes Deployment mount dashboards/ inside the Grafana container. */
const DASHBOARD_MOUNT = "/var/lib/grafana/dashboards";

/** Normalises PromQL whitespace so a reformatted query still compares equal. */
const squash = (expr: string) => expr.replace(/\s+/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")").trim();

/**
 * The selectors in a PromQL expression that do not pin job="storage_api": label-matcher blocks without
 * it, and bare metric names (an identifier that is neither a function call nor a keyword once
 * selectors, grouping clauses, ranges and numbers are removed).
 */
function unpinnedSelectors(expr: string): string[] {
  const selector = /(?:[a-zA-Z_:][\w:]*\s*)?\{([^}]*)\}/g;
  const problems = [...expr.matchAll(selector)]
    .filter(([, matchers = ""]) => !/(^|,)\s*job\s*=\s*"storage_api"\s*(,|$)/.test(matchers))
    .map(([text]) => text);
  const rest = expr
    .replace(selector, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, " ");
  for (const match of rest.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const isCall = /^\s*\(/.test(rest.slice(match.index + match[0].length));
    if (!isCall && !["and", "or", "unless", "bool", "offset"].includes(match[0])) problems.push(match[0]);
  }
  return problems;
}

/** The value at a dotted path ("options.legend.displayMode") of a parsed JSON object, or undefined. */
function at(value: unknown, path: string): unknown {
  return path
    .split(".")
    .reduce<unknown>(
      (node, key) => (typeof node === "object" && node !== null ? (node as Mapping)[key] : undefined),
      value,
    );
}

describe("dashboard schema", () => {
  test("conforms to the Dashboard and panel option types of @grafana/schema (tsc)", () => {
    // tsc is the validator (see test/support/dashboard-typecheck.ts). Run on that file alone, so a type
    // error elsewhere in the project cannot fail this test; the flags are tsconfig.json's that matter.
    const tsc = Bun.spawnSync(
      [
        join(root, "node_modules/.bin/tsc"),
        "--noEmit",
        "--ignoreConfig",
        "--strict",
        "--module",
        "preserve",
        "--moduleResolution",
        "bundler",
        "--resolveJsonModule",
        "--skipLibCheck",
        "test/support/dashboard-typecheck.ts",
      ],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    expect(`${tsc.stdout.toString()}${tsc.stderr.toString()}`).toBe("");
    expect(tsc.exitCode).toBe(0);
  }, 30_000);

  test("uses the schemaVersion Grafana 13.2 writes, so Grafana does not migrate it on every load", () => {
    expect(dashboard.schemaVersion).toBe(defaultDashboard.schemaVersion);
  });

  test("enum-typed fields hold values of Grafana's enums (the types above widen them to string)", () => {
    // Per panel type, because the same option name means different things in different plugins.
    const enumsByType: Record<string, Array<[string, object]>> = {
      timeseries: [
        ["options.legend.displayMode", LegendDisplayMode],
        ["options.tooltip.mode", TooltipDisplayMode],
        ["options.tooltip.sort", SortOrder],
      ],
      stat: [
        ["options.colorMode", BigValueColorMode],
        ["options.graphMode", BigValueGraphMode],
        ["options.textMode", BigValueTextMode],
      ],
      gauge: [],
    };
    for (const panel of dashboard.panels) {
      const enums = enumsByType[panel.type];
      if (enums === undefined) throw new Error(`no enum checks for panel type ${panel.type}: add them here`);
      for (const [path, values] of [
        ["fieldConfig.defaults.thresholds.mode", ThresholdsMode] as const,
        ...enums,
      ]) {
        const value = at(panel, path);
        // An absent option is filled with the plugin's default by Grafana.
        if (value !== undefined) {
          expect({ panel: panel.title, path, value }).toEqual({
            panel: panel.title,
            path,
            value: Object.values(values).find((member) => member === value),
          });
        }
      }
    }
  });

  test("the uid is fixed and within Grafana's 8-40 characters, so the URL is stable", () => {
    expect(dashboard.uid).toBe("storage-api");
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{8,40}$/);
    expect(dashboard.title).toBe("Storage API");
  });

  test("opens on the last 15 minutes and refreshes no faster than Prometheus scrapes", () => {
    expect(dashboard.time).toEqual({ from: "now-15m", to: "now" });
    expect(durationMs(dashboard.refresh)).toBeGreaterThanOrEqual(
      durationMs(scrapeInterval("prometheus/prometheus.compose.yml")),
    );
  });
});

describe("panels", () => {
  test("'Average HTTP Request Duration' is total request seconds over request count, in seconds", () => {
    const panel = panelTitled("Average HTTP Request Duration");
    expect(panel.type).toBe("timeseries");
    expect(panel.fieldConfig.defaults.unit).toBe("s");
    // The exact definition asked for comes first: it is the series the panel is named after.
    expect(squash(panel.targets[0]?.expr ?? "")).toBe(
      'sum(rate(http_request_duration_seconds_sum{job="storage_api"}[$__rate_interval])) / ' +
        'sum(rate(http_request_duration_seconds_count{job="storage_api"}[$__rate_interval]))',
    );
  });

  test("'HTTP Status Codes' is the request rate by status, one series per code", () => {
    const panel = panelTitled("HTTP Status Codes");
    expect(panel.type).toBe("timeseries");
    expect(panel.fieldConfig.defaults.unit).toBe("reqps");
    expect(panel.targets).toHaveLength(1);
    expect(squash(panel.targets[0]?.expr ?? "")).toBe(
      'sum by (status) (rate(http_request_duration_seconds_count{job="storage_api"}[$__rate_interval]))',
    );
    expect(panel.targets[0]?.legendFormat).toBe("{{status}}");
  });

  test("panel ids are unique and every panel has a title, a one-line description and a query", () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.title.trim()).not.toBe("");
      expect(panel.description).toMatch(/^[^\n]{10,160}$/);
      expect(panel.targets.length).toBeGreaterThan(0);
      expect(new Set(panel.targets.map((target) => target.refId)).size).toBe(panel.targets.length);
    }
  });

  test("the layout fits Grafana's 24 columns and no two panels overlap", () => {
    const boxes = dashboard.panels.map(({ title, gridPos: { x, y, w, h } }) => ({ title, x, y, w, h }));
    for (const box of boxes) {
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.w).toBeGreaterThan(0);
      expect(box.h).toBeGreaterThan(0);
      expect(box.x + box.w).toBeLessThanOrEqual(24);
    }
    const overlaps = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        .map((b) => `${a.title} / ${b.title}`),
    );
    expect(overlaps).toEqual([]);
  });
});

describe("queries", () => {
  const uid = () => String(datasourceFile().uid);

  test("every panel and every query uses the provisioned Prometheus by its fixed uid", () => {
    const expected = { type: "prometheus", uid: uid() };
    expect(expected.uid).toBe("prometheus");
    for (const panel of dashboard.panels) expect(panel.datasource).toEqual(expected);
    for (const query of queries) expect(query.datasource).toEqual(expected);
  });

  test("every range is [$__rate_interval], never a fixed window", () => {
    for (const { expr } of queries) {
      for (const [, range] of expr.matchAll(/\[([^\]]*)\]/g))
        expect({ expr, range }).toEqual({ expr, range: "$__rate_interval" });
    }
  });

  test('every metric selector pins job="storage_api"', () => {
    // The checker itself must be able to fail.
    expect(unpinnedSelectors('sum(rate(foo{status="500"}[5m])) / sum(bar)')).toEqual([
      'foo{status="500"}',
      "bar",
    ]);
    for (const { expr } of queries)
      expect({ expr, unpinned: unpinnedSelectors(expr) }).toEqual({ expr, unpinned: [] });
  });

  test("every query has a legend, so series read as labels rather than raw selectors", () => {
    for (const { panel, refId, legendFormat } of queries) {
      expect({ panel, refId, legendFormat: legendFormat.trim() !== "" }).toEqual({
        panel,
        refId,
        legendFormat: true,
      });
    }
  });
});

describe("provisioning", () => {
  test("the data source is the one default Prometheus, read-only, with no credentials", () => {
    const source = datasourceFile();
    expect(source).toMatchObject({
      name: "Prometheus",
      type: "prometheus",
      uid: "prometheus",
      url: "http://prometheus:9090",
      access: "proxy",
      isDefault: true,
      editable: false,
    });
    for (const key of ["basicAuth", "basicAuthUser", "user", "password", "secureJsonData"]) {
      expect(Object.keys(source)).not.toContain(key);
    }
  });

  test("timeInterval equals the scrape interval of both Prometheus configs ($__rate_interval relies on it)", () => {
    const jsonData = mapping(datasourceFile().jsonData, "jsonData");
    for (const path of ["prometheus/prometheus.compose.yml", "prometheus/prometheus.kubernetes.yml"]) {
      expect({ path, ms: durationMs(jsonData.timeInterval) }).toEqual({
        path,
        ms: durationMs(scrapeInterval(path)),
      });
    }
  });

  test("the dashboard provider reads the folder where compose and Kubernetes mount dashboards/", () => {
    const provider = providerFile();
    expect(provider.type).toBe("file");
    expect(provider.allowUiUpdates).toBe(false);
    expect(mapping(provider.options, "options").path).toBe(DASHBOARD_MOUNT);
  });

  test("every file a kustomization generates a ConfigMap from exists", () => {
    for (const path of ["grafana/kustomization.yaml", "dashboards/kustomization.yaml"]) {
      const generators = mapping(parse(read(path)), path).configMapGenerator as Array<{ files: string[] }>;
      const files = generators.flatMap((generator) => generator.files);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files)
        expect({ file, exists: existsSync(join(root, dirname(path), file)) }).toEqual({ file, exists: true });
    }
  });
});
