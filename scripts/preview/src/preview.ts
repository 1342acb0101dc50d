/**
 * The whole run: the real service, a real Prometheus scraping it, traffic, then the dashboard page rendered
 * in Chromium. Everything started here is stopped and its temp dirs removed, whatever happens (src/cleanup.ts).
 */
import { type PageReport, renderPage } from "./browser";
import { cleanUp } from "./cleanup";
import { startPageServer } from "./page-server";
import { startPrometheus } from "./prometheus";
import { durationMs } from "./repo";
import { startService } from "./service";
import { driveTraffic, type StatusCounts } from "./traffic";

export interface PreviewResult {
  report: PageReport;
  /** Responses the traffic got, by status code. */
  statuses: StatusCounts;
}

export async function runPreview(trafficMs: number, withPicture = false): Promise<PreviewResult> {
  const log = (message: string) => console.log(`[dashboard preview] ${message}`);
  try {
    const service = await startService();
    const prometheus = await startPrometheus(new URL(service.url).host);
    const scrapeMs = durationMs(prometheus.scrapeInterval);
    log(`service ${service.url}, prometheus ${prometheus.url} scraping every ${prometheus.scrapeInterval}`);
    // A first scrape before any traffic gives every counter its zero; new targets start within ~5 s.
    await prometheus.waitForScrape(0, 5000 + 3 * scrapeMs);

    log(`traffic for ${Math.round(trafficMs / 1000)} s`);
    const [statuses, page] = await Promise.all([
      driveTraffic(service.url, trafficMs),
      startPageServer(prometheus.url),
    ]);
    log(`responses by status: ${JSON.stringify(statuses)}`);
    // Until a scrape that started after the last request is stored, the newest requests are not in it.
    await prometheus.waitForScrape(Date.now(), 3 * scrapeMs);

    const report = await renderPage(page.url, withPicture);
    return { report, statuses };
  } finally {
    await cleanUp();
  }
}
