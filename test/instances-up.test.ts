/** "Instances Up" reads 0, not "No data", when Prometheus has no storage_api target at all (a Pending pod). */
import { expect, test } from "bun:test";
import { PROMETHEUS, skipWithout } from "./support/prerequisites";
import { startPrometheus } from "./support/prometheus";
import { read } from "./support/repo";

const panels = JSON.parse(read("dashboards/storage-api.json")).panels as Array<{
  title: string;
  targets: Array<{ expr: string }>;
}>;
const expr = panels.find((panel) => panel.title === "Instances Up")?.targets[0]?.expr ?? "";

test.skipIf(skipWithout(PROMETHEUS))(
  "Instances Up reads 0 on a Prometheus with no API target",
  async () => {
    if (PROMETHEUS === null) throw new Error("prometheus is not installed");
    // Another job, scraping a closed port: Prometheus has data, none of it from job storage_api.
    const prometheus = await startPrometheus({
      binary: PROMETHEUS,
      jobName: "something_else",
      target: "127.0.0.1:1",
      scrapeInterval: "1s",
    });
    try {
      for (const deadline = Date.now() + 10_000; (await prometheus.query("up")).length === 0; ) {
        if (Date.now() > deadline) throw new Error(`no scrape within 10 s:\n${prometheus.log()}`);
        await Bun.sleep(200);
      }
      expect(await prometheus.query('up{job="storage_api"}')).toEqual([]);
      expect((await prometheus.query(expr)).map((sample) => sample.value[1])).toEqual(["0"]);
    } finally {
      await prometheus.stop();
    }
  },
  30_000,
);
