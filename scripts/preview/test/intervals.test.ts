/** $__interval and $__rate_interval as Grafana's Prometheus data source computes them. */
import { describe, expect, test } from "bun:test";
import { dateTime, rangeUtil } from "@grafana/data";
import { COMPOSE_PROMETHEUS_FILE, datasourceSettings, durationMs, readYaml } from "../src/repo";
import { goDuration, interpolate, queryIntervals, rateIntervalMs } from "../web/intervals";

const lastMinutes = (minutes: number) => {
  const to = dateTime(Date.UTC(2030, 0, 1));
  return { from: dateTime(to.valueOf() - minutes * 60_000), to, raw: { from: `now-${minutes}m`, to: "now" } };
};

describe("Grafana's interval rules", () => {
  test("rate interval is max(interval + scrape interval, 4 x scrape interval)", () => {
    expect(rateIntervalMs(5000, 5000)).toBe(20_000);
    expect(rateIntervalMs(30_000, 5000)).toBe(35_000);
  });

  test("15 minutes on a 780 px panel: 5 s steps (the timeInterval floor) and a 20 s rate window", () => {
    const intervals = queryIntervals(lastMinutes(15), 780, "5s", "5s");
    expect(intervals).toEqual({ intervalMs: 5000, rateIntervalMs: 20_000 });
    expect(interpolate("rate(x[$__rate_interval])", intervals, lastMinutes(15))).toBe("rate(x[20s])");
  });

  test("24 hours: the interval grows with the range and the rate window follows it", () => {
    const intervals = queryIntervals(lastMinutes(24 * 60), 780, "5s", "5s");
    expect(intervals.intervalMs).toBe(rangeUtil.roundInterval((24 * 3_600_000) / 780));
    expect(intervals.rateIntervalMs).toBe(intervals.intervalMs + 5000);
    expect(goDuration(intervals.rateIntervalMs)).toBe("2m5s");
  });

  test("the data source's timeInterval is the compose scrape interval the preview scrapes at", () => {
    const { global } = readYaml(COMPOSE_PROMETHEUS_FILE) as { global: { scrape_interval: string } };
    expect(durationMs(datasourceSettings().timeInterval)).toBe(durationMs(global.scrape_interval));
  });
});
