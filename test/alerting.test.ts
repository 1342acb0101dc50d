/**
 * Alertmanager: its config judged by the real amtool, and the whole alerting path with real engines: Debian's
 * Prometheus runs the repository's rule files on a target answering one API request in three 500, as the
 * original service did, and sends to Debian's Alertmanager running the repository's alertmanager.yml.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ALERTMANAGER, AMTOOL, PROMETHEUS, runTool, skipWithout } from "./support/prerequisites";
import {
  type Daemon,
  type RunningPrometheus,
  startAlertmanager,
  startPrometheus,
} from "./support/prometheus";
import { root } from "./support/repo";

const CONFIG = join(root, "alertmanager", "alertmanager.yml");

const amtool = (...args: string[]) => runTool(AMTOOL, ...args);

describe.skipIf(skipWithout(AMTOOL))("amtool", () => {
  test("accepts the config with its inhibit rule, routes page to the page receiver and all else to ticket", () => {
    expect(amtool("check-config", CONFIG)).toEqual({
      exitCode: 0,
      output: expect.stringMatching(/SUCCESS[\s\S]* - 1 inhibit rules/),
    });
    for (const labels of [["severity=page"], ["severity=ticket"], ["severity=warning"], []]) {
      const routed = amtool("config", "routes", "test", `--config.file=${CONFIG}`, ...labels);
      expect({ labels, receiver: routed.output.split("\n")[0] }).toEqual({
        labels,
        receiver: labels[0] === "severity=page" ? "page" : "ticket",
      });
    }
  });
});

/** The original defect's traffic, one scrape at a time: PUT and GET answered 200, every DELETE 500. */
function incidentTarget() {
  let scrapes = 0;
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      scrapes += 1;
      const series = ["PUT 200", "GET 200", "DELETE 500"].map((route) => {
        const [method, status] = route.split(" ");
        return `http_request_duration_seconds_count{method="${method}",path="/api/buckets/:id",status="${status}"} ${scrapes * 100}`;
      });
      return new Response(`${series.join("\n")}\n`);
    },
  });
}

type AmAlert = { labels: Record<string, string>; receivers: { name: string }[]; status: { state: string } };

describe.skipIf(skipWithout(PROMETHEUS) || skipWithout(ALERTMANAGER))("the alerting path, end to end", () => {
  let target: ReturnType<typeof Bun.serve> | undefined;
  let alertmanager: Daemon | undefined;
  let prometheus: RunningPrometheus | undefined;

  beforeAll(async () => {
    target = incidentTarget();
    alertmanager = await startAlertmanager(CONFIG);
    // Fast enough that the page arrives within seconds; rules and alertmanager.yml are the repository's.
    prometheus = await startPrometheus(
      "storage_api",
      `127.0.0.1:${target.port}`,
      "1s",
      new URL(alertmanager.url).host,
    );
  });

  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    target?.stop(true);
  });

  test("the incident pages through the page receiver within seconds, and the page inhibits its ticket", async () => {
    const started = Date.now();
    let alerts: AmAlert[] = [];
    // Two scrapes give the ratios a value; one evaluation later the alerts fire and are sent at once.
    while (Date.now() - started < 30_000) {
      const response = await fetch(`${alertmanager?.url}/api/v2/alerts`, {
        signal: AbortSignal.timeout(2000),
      });
      alerts = (await response.json()) as AmAlert[];
      if (alerts.length === 3) break;
      await Bun.sleep(250);
    }
    const seen = alerts
      .map(({ labels, receivers, status }) => ({
        alert: `${labels.alertname} ${labels.severity} ${labels.window}`,
        receivers: receivers.map((receiver) => receiver.name),
        state: status.state,
      }))
      .sort((a, b) => a.alert.localeCompare(b.alert));
    expect(seen, `prometheus log:\n${prometheus?.log()}`).toEqual([
      { alert: "StorageApiAvailabilityBudgetBurn page 1h", receivers: ["page"], state: "active" },
      { alert: "StorageApiAvailabilityBudgetBurn page 6h", receivers: ["page"], state: "active" },
      { alert: "StorageApiAvailabilityBudgetBurn ticket 3d", receivers: ["ticket"], state: "suppressed" },
    ]);
  }, 40_000);
});
