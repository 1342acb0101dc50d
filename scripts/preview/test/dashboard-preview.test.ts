/**
 * The dashboard as Grafana's panel code draws it, in Debian's Chromium, from a real Prometheus scraping
 * the real service under a short burst of traffic. Locally it skips when chromium or prometheus is
 * missing; in CI (CI set) that is a failure.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumInstalled } from "../src/browser";
import {
  durationAxisShowsTimeUnits,
  everyPanelDrewData,
  everyPanelIsOnThePage,
  noConsoleErrors,
  noErrorOrEmptyText,
  panelsDoNotOverlap,
  statusLegendMatchesTraffic,
} from "../src/checks";
import { type PreviewResult, runPreview } from "../src/preview";
import { PROMETHEUS_BINARY } from "../src/prometheus";

/** Six scrapes at the compose interval (5 s): enough for every rate() window to hold an increase. */
const TRAFFIC_MS = 30_000;

const missing = [
  ...(chromiumInstalled() ? [] : ["/usr/bin/chromium (apt-get install chromium)"]),
  ...(PROMETHEUS_BINARY === null ? ["prometheus (apt-get install prometheus)"] : []),
];
const skip = missing.length > 0 && !process.env.CI;
if (skip)
  console.warn(`SKIPPED preview/test: dashboard picture not checked, missing ${missing.join(" and ")}`);

describe.skipIf(skip)("dashboards/storage-api.json drawn by @grafana/ui from a real Prometheus", () => {
  let result: PreviewResult | undefined;

  beforeAll(async () => {
    if (missing.length > 0) throw new Error(`CI is set but ${missing.join(" and ")} is not installed`);
    // runPreview stops the service, Prometheus, the page server and Chromium itself, in a finally.
    result = await runPreview(TRAFFIC_MS);
  }, 180_000);

  const passes = (check: (result: PreviewResult) => string[]) => () => {
    if (result === undefined) throw new Error("the preview did not run");
    expect(check(result)).toEqual([]);
  };

  test("every panel of the dashboard file is on the page, in order", passes(everyPanelIsOnThePage));
  test("panels sit on the page without overlapping", passes(panelsDoNotOverlap));
  test("every panel drew data: a graph with axes, or a value", passes(everyPanelDrewData));
  test('no panel says "No data" or shows an error', passes(noErrorOrEmptyText));
  test("the page logged no console error", passes(noConsoleErrors));
  test("Average HTTP Request Duration has µs or ms on its axis", passes(durationAxisShowsTimeUnits));
  test("HTTP Status Codes has one legend entry per status code sent", passes(statusLegendMatchesTraffic));
  test("the traffic got 200, 204 and 404", () => {
    expect(Object.keys(result?.statuses ?? {})).toEqual(expect.arrayContaining(["200", "204", "404"]));
  });
});

/** Processes whose environment names `tmp` as TMPDIR: the run and everything it started. */
const startedWith = (tmp: string) =>
  readdirSync("/proc").filter((pid) => {
    try {
      return /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/environ`, "utf8").includes(`TMPDIR=${tmp}\0`);
    } catch {
      return false;
    }
  });

describe.skipIf(skip)("bun run dashboard:preview, interrupted", () => {
  test("stops what it started and removes its temporary folders on SIGINT and SIGTERM", async () => {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const tmp = mkdtempSync(join(tmpdir(), "preview-interrupted-"));
      try {
        const run = Bun.spawn(["bun", join(import.meta.dir, "../src/main.ts")], {
          env: { ...process.env, TMPDIR: tmp, PREVIEW_TRAFFIC_MINUTES: "1" },
          stdout: "pipe",
          stderr: "ignore",
        });
        // Once traffic runs, the service, Prometheus and the page build are up, with their folders in `tmp`.
        let output = "";
        for await (const chunk of run.stdout) {
          output += new TextDecoder().decode(chunk);
          if (output.includes("traffic for")) break;
        }
        expect(readdirSync(tmp).length).toBeGreaterThan(0);
        run.kill(signal);
        expect(await run.exited).toBe(code);
        expect({ signal, files: readdirSync(tmp), processes: startedWith(tmp) }).toEqual({
          signal,
          files: [],
          processes: [],
        });
      } finally {
        for (const pid of startedWith(tmp)) process.kill(Number(pid), "SIGKILL");
        rmSync(tmp, { recursive: true, force: true });
      }
    }
  }, 90_000);
});
