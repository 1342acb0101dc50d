/**
 * The Prometheus configuration, checked with the real promtool: both scrape configs, the alert rules and
 * their unit tests (prometheus/alerts.test.yml). Plus what promtool cannot see: that the Kubernetes config
 * differs from the compose one only in how it finds the API's pods, that the ConfigMap keys are the file
 * names Prometheus reads, and that every alert has a runbook section and is tested firing and silent.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parse, stringify } from "yaml";
import { PROMTOOL, skipWithout } from "./support/prerequisites";
import { list, type Mapping, mapping, read, root, text } from "./support/repo";

const composeConfig = () => mapping(parse(read("prometheus/prometheus.compose.yml")), "compose config");
const kubernetesConfig = () =>
  mapping(parse(read("prometheus/prometheus.kubernetes.yml")), "kubernetes config");

function scrapeJob(config: Mapping, name: string): Mapping {
  const job = list(config.scrape_configs, "scrape_configs")
    .map((entry) => mapping(entry, "scrape config"))
    .find((entry) => entry.job_name === name);
  if (!job) throw new Error(`no scrape job ${name}`);
  return job;
}

interface AlertRule {
  alert: string;
  labels: Mapping;
  annotations: Mapping;
}

function alertRules(): AlertRule[] {
  const groups = list(mapping(parse(read("prometheus/alerts.yml")), "alerts.yml").groups, "groups");
  return groups.flatMap((group) =>
    list(mapping(group, "rule group").rules, "rules").map((entry) => {
      const rule = mapping(entry, "rule");
      return {
        alert: text(rule.alert, "alert"),
        labels: mapping(rule.labels, "labels"),
        annotations: mapping(rule.annotations, "annotations"),
      };
    }),
  );
}

// The in-container rule file path, which both configs must name (compose mounts it, the ConfigMap provides it).
const RULE_FILE = "/etc/prometheus/alerts.yml";

/**
 * promtool resolves rule_files while checking a config, and /etc/prometheus/alerts.yml exists only inside
 * the container. So the config is checked as a copy whose only change is that one path, pointed at the
 * repository's alerts.yml: promtool then validates the rest of the config AND the rules it would load.
 */
function withRepoRuleFile(config: Mapping): Mapping {
  expect(config.rule_files).toEqual([RULE_FILE]);
  return { ...config, rule_files: [join(root, "prometheus", "alerts.yml")] };
}

// Locally a missing promtool skips (the preload names it); in CI it must fail, otherwise a broken rule or
// config would pass unnoticed.
const skipPromtool = skipWithout(PROMTOOL);

// promtool test rules takes about 1.5 s here; the bound only stops a hung promtool from stalling the run.
const PROMTOOL_TIMEOUT_MS = 20_000;

function runPromtool(...args: string[]): { exitCode: number | null; output: string } {
  if (PROMTOOL === null) {
    throw new Error(
      "promtool is not on PATH and CI is set: install it, these checks must not be skipped in CI",
    );
  }
  const result = Bun.spawnSync([PROMTOOL, ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
    timeout: PROMTOOL_TIMEOUT_MS,
  });
  return { exitCode: result.exitCode, output: result.stdout.toString() + result.stderr.toString() };
}

let scratch = "";
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "storage-api-prometheus-"));
});
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Writes a derived config into the temp dir and returns its path. */
function derived(name: string, config: Mapping): string {
  const path = join(scratch, name);
  writeFileSync(path, stringify(config));
  return path;
}

describe("promtool", () => {
  test.skipIf(skipPromtool)(
    "accepts the compose config and the rules it loads",
    () => {
      const path = derived("compose.yml", withRepoRuleFile(composeConfig()));
      expect(runPromtool("check", "config", path)).toEqual({
        exitCode: 0,
        output: expect.stringContaining(`SUCCESS: ${alertRules().length} rules found`),
      });
    },
    PROMTOOL_TIMEOUT_MS + 5_000,
  );

  test.skipIf(skipPromtool)(
    "accepts every key of the kubernetes config besides the pod discovery",
    () => {
      // Debian's promtool is built without Kubernetes service discovery and rejects kubernetes_sd_configs
      // as an unknown field. Swapping only that block for a static target lets promtool validate
      // everything else, relabel_configs included; the discovery block itself is asserted below.
      const config = kubernetesConfig();
      const job = scrapeJob(config, "storage_api");
      const { kubernetes_sd_configs: discovery, ...rest } = job;
      expect(discovery).toBeDefined();
      const jobs = list(config.scrape_configs, "scrape_configs").map((entry) =>
        entry === job ? { ...rest, static_configs: [{ targets: ["storage-api:5000"] }] } : entry,
      );
      const path = derived("kubernetes.yml", { ...withRepoRuleFile(config), scrape_configs: jobs });
      expect(runPromtool("check", "config", path)).toEqual({
        exitCode: 0,
        output: expect.stringContaining(`SUCCESS: ${alertRules().length} rules found`),
      });
    },
    PROMTOOL_TIMEOUT_MS + 5_000,
  );

  test.skipIf(skipPromtool)(
    "accepts the alert rules",
    () => {
      expect(runPromtool("check", "rules", "prometheus/alerts.yml")).toEqual({
        exitCode: 0,
        output: expect.stringContaining(`SUCCESS: ${alertRules().length} rules found`),
      });
    },
    PROMTOOL_TIMEOUT_MS + 5_000,
  );

  test.skipIf(skipPromtool)(
    "passes the alert unit tests",
    () => {
      expect(runPromtool("test", "rules", "prometheus/alerts.test.yml")).toEqual({
        exitCode: 0,
        output: expect.stringContaining("SUCCESS"),
      });
    },
    PROMTOOL_TIMEOUT_MS + 5_000,
  );
});

describe("scrape configs", () => {
  test("scrape and evaluate every 5s and load the rules from the in-container path", () => {
    for (const config of [composeConfig(), kubernetesConfig()]) {
      expect(config.global).toEqual({ scrape_interval: "5s", evaluation_interval: "5s" });
      expect(config.rule_files).toEqual([RULE_FILE]);
    }
  });

  test("compose scrapes the storage_api service by name on /metrics", () => {
    expect(scrapeJob(composeConfig(), "storage_api")).toEqual({
      job_name: "storage_api",
      metrics_path: "/metrics",
      static_configs: [{ targets: ["storage_api:5000"] }],
    });
  });

  test("kubernetes differs from compose only in how the storage_api job finds its targets", () => {
    const withoutDiscovery = (config: Mapping) => {
      const { static_configs, kubernetes_sd_configs, relabel_configs, ...job } = scrapeJob(
        config,
        "storage_api",
      );
      return {
        ...config,
        scrape_configs: list(config.scrape_configs, "scrape_configs").map((entry) =>
          mapping(entry, "scrape config").job_name === "storage_api" ? job : entry,
        ),
      };
    };
    expect(withoutDiscovery(kubernetesConfig())).toEqual(withoutDiscovery(composeConfig()));
  });

  describe("kubernetes storage_api job", () => {
    const job = () => scrapeJob(kubernetesConfig(), "storage_api");
    const relabel = () =>
      list(job().relabel_configs, "relabel_configs").map((entry) => mapping(entry, "relabel config"));

    test("discovers pods in its own namespace only, never the Service", () => {
      expect(job().kubernetes_sd_configs).toEqual([{ role: "pod", namespaces: { own_namespace: true } }]);
      expect(job().static_configs).toBeUndefined();
    });

    test("keeps only Running storage-api pods, on their port named http", () => {
      const keeps = relabel()
        .filter((rule) => rule.action === "keep")
        .map(({ source_labels, regex }) => ({ source_labels, regex }));
      expect(keeps).toEqual([
        { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], regex: "storage-api" },
        { source_labels: ["__meta_kubernetes_pod_container_port_name"], regex: "http" },
        { source_labels: ["__meta_kubernetes_pod_phase"], regex: "Running" },
      ]);
    });

    test("labels each target with its namespace and pod, and leaves job as storage_api", () => {
      const targets = relabel()
        .filter((rule) => rule.target_label !== undefined)
        .map(({ source_labels, target_label }) => ({ source_labels, target_label }));
      expect(targets).toEqual([
        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
        { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
      ]);
      // No rule rewrites job, so it is the job_name, exactly as in compose.
      expect(job().job_name).toBe("storage_api");
    });
  });
});

describe("kustomization", () => {
  test("generates the ConfigMap with the file names Prometheus reads in the container, hash suffix kept", () => {
    const kustomization = mapping(parse(read("prometheus/kustomization.yaml")), "kustomization.yaml");
    // No namespace here: k8s/ sets it for the whole stack.
    expect(kustomization.namespace).toBeUndefined();
    expect(kustomization.generatorOptions).toBeUndefined();
    const generators = list(kustomization.configMapGenerator, "configMapGenerator").map((entry) =>
      mapping(entry, "generator"),
    );
    expect(generators.map(({ name, options }) => ({ name, options }))).toEqual([
      { name: "prometheus-config", options: undefined },
    ]);
    const files = list(generators[0]?.files, "files").map((entry) => text(entry, "file"));
    const keyToSource = new Map(
      files.map((file) => {
        const [key, source] = file.includes("=") ? file.split("=") : [file, file];
        return [key, source];
      }),
    );
    // The config file the containers are started with, and the rule file it names.
    expect(Object.fromEntries(keyToSource)).toEqual({
      "prometheus.yml": "prometheus.kubernetes.yml",
      [basename(RULE_FILE)]: "alerts.yml",
    });
  });
});

describe("alerts", () => {
  test("every alert has a severity, a summary, a description and a runbook link", () => {
    for (const rule of alertRules()) {
      expect({ alert: rule.alert, severity: rule.labels.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(critical|warning)$/),
      });
      expect(Object.keys(rule.annotations).sort()).toEqual(["description", "runbook_url", "summary"]);
    }
  });

  test("every runbook link points at the alert's own section, and every section belongs to an alert", () => {
    const runbook = read("docs/runbook.md");
    const headings = [...runbook.matchAll(/^## (.+)$/gm)].map((match) => match[1] ?? "");
    // GitHub's heading anchors: lower case, punctuation dropped, spaces become hyphens.
    const anchor = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
    const alerts = alertRules();
    for (const rule of alerts) {
      expect({ alert: rule.alert, runbook_url: rule.annotations.runbook_url }).toEqual({
        alert: rule.alert,
        runbook_url: `docs/runbook.md#${rule.alert.toLowerCase()}`,
      });
      expect(headings.map(anchor)).toContain(rule.alert.toLowerCase());
    }
    expect(headings.sort()).toEqual(alerts.map((rule) => rule.alert).sort());
  });

  test("the unit tests run at Prometheus' evaluation interval and test every alert firing and silent", () => {
    const tests = mapping(parse(read("prometheus/alerts.test.yml")), "alerts.test.yml");
    expect(tests.rule_files).toEqual(["alerts.yml"]);
    // `for:` timings in the tests hold for the real Prometheus only at the same evaluation interval.
    expect(tests.evaluation_interval).toBe(mapping(composeConfig().global, "global").evaluation_interval);
    const cases = list(tests.tests, "tests").flatMap((group) =>
      list(mapping(group, "test group").alert_rule_test ?? [], "alert_rule_test").map((entry) => {
        const check = mapping(entry, "alert_rule_test");
        return { alertname: check.alertname, fires: list(check.exp_alerts, "exp_alerts").length > 0 };
      }),
    );
    for (const { alert } of alertRules()) {
      expect(cases).toContainEqual({ alertname: alert, fires: true });
      expect(cases).toContainEqual({ alertname: alert, fires: false });
    }
  });
});
