/**
 * The Prometheus configuration, judged by the real promtool: both scrape configs, every rule file and every
 * rule unit test (prometheus/*.test.yml). Plus what promtool cannot see: that the Kubernetes config differs
 * from the compose one only in how it finds the API's pods, and that every alert is routable, has its
 * runbook section, and is tested firing and silent.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { PROMTOOL, runTool, skipWithout } from "./support/prerequisites";
import { RULE_FILES } from "./support/prometheus";
import { type Any, read, readYaml, root } from "./support/repo";

const config = (flavour: string) => readYaml(`prometheus/prometheus.${flavour}.yml`);
const apiJob = (config: Any) => config.scrape_configs.find((job: Any) => job.job_name === "storage_api");

/** The rule files (as the compose config names them, at their repository paths), with their rules. */
const ruleFiles = RULE_FILES.map((path) => ({
  name: basename(path),
  rules: readYaml(`prometheus/${basename(path)}`).groups.flatMap((group: Any) => group.rules) as Any[],
}));
const TEST_FILES = readdirSync(join(root, "prometheus")).filter((name) => name.endsWith(".test.yml"));

const alerts = ruleFiles.flatMap(({ name, rules }) =>
  rules
    .filter((rule) => rule.alert !== undefined)
    .map(({ alert, labels, annotations, for: waits }) => ({ file: name, alert, waits, labels, annotations })),
);
const alertNames = [...new Set(alerts.map((rule) => rule.alert))];

// Locally a missing promtool skips (the preload names it); in CI it fails, so a broken rule cannot pass.
const skipPromtool = skipWithout(PROMTOOL);
const PROMTOOL_TIMEOUT_MS = 60_000;
const promtool = (...args: string[]) => runTool(PROMTOOL, ...args);

describe("promtool", () => {
  test.skipIf(skipPromtool)(
    "accepts both scrape configs and every rule file they load",
    () => {
      // The configs name in-container rule paths, which promtool would resolve, so the checked copies point
      // at the repository's files. Debian's promtool lacks Kubernetes discovery: that one block becomes a
      // static target, so promtool still validates everything else (relabel_configs included).
      const dir = mkdtempSync(join(tmpdir(), "storage-api-promtool-"));
      try {
        for (const flavour of ["compose", "kubernetes"]) {
          const checked = { ...config(flavour), rule_files: RULE_FILES };
          checked.scrape_configs = checked.scrape_configs.map(({ kubernetes_sd_configs, ...job }: Any) =>
            kubernetes_sd_configs ? { ...job, static_configs: [{ targets: ["storage-api:5000"] }] } : job,
          );
          writeFileSync(join(dir, `${flavour}.yml`), stringify(checked));
          const result = promtool("check", "config", join(dir, `${flavour}.yml`));
          expect({ flavour, exitCode: result.exitCode }).toEqual({ flavour, exitCode: 0 });
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const checked = promtool("check", "rules", ...ruleFiles.map(({ name }) => `prometheus/${name}`));
      expect(checked.exitCode).toBe(0);
      expect(Array.from(checked.output.matchAll(/SUCCESS: \d+ rules found/g), ([line]) => line)).toEqual(
        ruleFiles.map(({ rules }) => `SUCCESS: ${rules.length} rules found`),
      );
    },
    2 * PROMTOOL_TIMEOUT_MS,
  );

  test.skipIf(skipPromtool)(
    "passes the unit tests of every rule file",
    () => {
      const tested = TEST_FILES.flatMap((file) => readYaml(`prometheus/${file}`).rule_files);
      expect(tested.sort()).toEqual(ruleFiles.map(({ name }) => name).sort());
      const result = promtool("test", "rules", ...TEST_FILES.map((file) => `prometheus/${file}`));
      expect({ exitCode: result.exitCode, failed: result.output.includes("FAILED") }).toEqual({
        exitCode: 0,
        failed: false,
      });
    },
    PROMTOOL_TIMEOUT_MS + 5_000,
  );
});

describe("scrape configs", () => {
  test("scrape and evaluate every 5s, load every rule file, and send alerts to the stack's Alertmanager", () => {
    for (const flavour of ["compose", "kubernetes"]) {
      expect(config(flavour).global).toEqual({ scrape_interval: "5s", evaluation_interval: "5s" });
      expect(config(flavour).rule_files).toEqual(ruleFiles.map(({ name }) => `/etc/prometheus/${name}`));
      expect(config(flavour).alerting).toEqual({
        alertmanagers: [{ static_configs: [{ targets: ["alertmanager:9093"] }] }],
      });
    }
    // Every other YAML file beside them is a rule file the configs load.
    const others = readdirSync(join(root, "prometheus")).filter((name) =>
      /^(?!prometheus\.).*(?<!\.test)\.yml$/.test(name),
    );
    expect(ruleFiles.map(({ name }) => name)).toEqual(others.sort());
  });

  test("kubernetes differs from compose only in how the storage_api job finds its pods", () => {
    const withoutDiscovery = (config: Any) => ({
      ...config,
      scrape_configs: config.scrape_configs.map(
        ({ static_configs, kubernetes_sd_configs, relabel_configs, ...job }: Any) =>
          job.job_name === "storage_api" ? job : { static_configs, ...job },
      ),
    });
    expect(withoutDiscovery(config("kubernetes"))).toEqual(withoutDiscovery(config("compose")));
    // Pods of its own namespace only; test/k8s.test.ts holds the relabel rules to the rendered pods.
    expect(apiJob(config("kubernetes")).kubernetes_sd_configs).toEqual([
      { role: "pod", namespaces: { own_namespace: true } },
    ]);
  });
});

describe("alerts", () => {
  test("every alert has a routed severity, a summary, a description and a link to its own runbook section", () => {
    const headings = [...read("docs/runbook.md").matchAll(/^## (.+)$/gm)].map((match) => match[1] ?? "");
    for (const { alert, labels, annotations } of alerts) {
      expect({ alert, severity: labels.severity, annotations }).toEqual({
        alert,
        severity: expect.stringMatching(/^(page|ticket)$/),
        annotations: {
          summary: expect.any(String),
          description: expect.any(String),
          runbook_url: `docs/runbook.md#${alert.toLowerCase()}`,
        },
      });
    }
    // Alert names are single words, so GitHub's anchor for each heading is the lowercased name.
    expect(headings.sort()).toEqual([...alertNames].sort());
  });

  test("every alert rule is tested firing and every alert silent, at Prometheus' interval where a rule has `for:`", () => {
    const cases = TEST_FILES.flatMap((file) => {
      const tests = readYaml(`prometheus/${file}`);
      const loads = tests.rule_files;
      // `for:` timings hold for the real Prometheus only at its evaluation interval; without `for:` a
      // coarser interval only rounds when an alert is seen.
      if (alerts.some((rule) => rule.waits && loads.includes(rule.file))) {
        expect({ file, interval: tests.evaluation_interval }).toEqual({ file, interval: "5s" });
      }
      return tests.tests.flatMap((group: Any) =>
        (group.alert_rule_test ?? []).map(({ alertname, exp_alerts }: Any) => ({
          alertname,
          fired: exp_alerts.map((alert: Any) => alert.exp_labels),
        })),
      );
    });
    for (const { alert, labels } of alerts) {
      // A rule fires in a test when an expected alert of its name carries all its static labels.
      const fires = cases.some(
        ({ alertname, fired }) =>
          alertname === alert &&
          fired.some((got: Any) => Object.entries(labels).every(([key, value]) => got[key] === value)),
      );
      expect({ alert, labels, fires }).toEqual({ alert, labels, fires: true });
      expect(cases).toContainEqual({ alertname: alert, fired: [] });
    }
  });
});
