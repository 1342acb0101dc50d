/**
 * What a correct picture needs, one function per requirement; each returns what is wrong (empty: fine).
 * The test asserts each one; `bun run dashboard:preview` refuses to save a picture that fails any.
 */
import { readFileSync } from "node:fs";
import { PAGE_WIDTH, type PageReport } from "./browser";
import type { PreviewResult } from "./preview";
import { DASHBOARD_FILE } from "./repo";

const panel = (report: PageReport, title: string) => report.panels.find((found) => found.title === title);

export function everyPanelIsOnThePage({ report }: PreviewResult): string[] {
  const { panels } = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as { panels: Array<{ title: string }> };
  const expected = panels.map(({ title }) => title);
  const shown = report.panels.map(({ title }) => title);
  return JSON.stringify(shown) === JSON.stringify(expected)
    ? []
    : [`page shows ${shown}, dashboard has ${expected}`];
}

/** A graph with drawn axes, or a stat/gauge value; a panel type the packages cannot draw must say so. */
export function everyPanelDrewData({ report }: PreviewResult): string[] {
  return report.panels.flatMap(({ title, type, state, canvases, canvasTexts, fallbackValues, text }) => {
    const drew =
      type === "timeseries"
        ? state === "data" && canvases > 0 && canvasTexts.length > 0
        : (state === "data" && /\d/.test(text.replace(title, ""))) ||
          (state === "unsupported" && fallbackValues.some((value) => /\d/.test(value)));
    return drew
      ? []
      : [`${title} (${type}) drew nothing: state ${state}, ${canvases} canvases, text "${text}"`];
  });
}

export function noErrorOrEmptyText({ report }: PreviewResult): string[] {
  return report.panels
    .filter(({ title, text }) => /no data|error|failed/i.test(text.replace(title, "")))
    .map(({ title, text }) => `${title} says "${text}"`);
}

export function noConsoleErrors({ report }: PreviewResult): string[] {
  return report.consoleErrors.map((error) => `console error: ${error}`);
}

/** Unit "s" must reach the axis: Grafana writes sub-second durations as µs or ms. */
export function durationAxisShowsTimeUnits({ report }: PreviewResult): string[] {
  const texts = panel(report, "Average HTTP Request Duration")?.canvasTexts ?? [];
  return texts.some((text) => /^\d+(\.\d+)? (ns|µs|ms)$/.test(text))
    ? []
    : [`Average HTTP Request Duration axis has no µs/ms label: ${JSON.stringify(texts)}`];
}

export function statusLegendMatchesTraffic({ report, statuses }: PreviewResult): string[] {
  const legend = [...(panel(report, "HTTP Status Codes")?.legend ?? [])].sort();
  const sent = Object.keys(statuses).sort();
  return JSON.stringify(legend) === JSON.stringify(sent)
    ? []
    : [`HTTP Status Codes legend ${JSON.stringify(legend)} is not the statuses sent ${JSON.stringify(sent)}`];
}

/** Boxes inside the page width and apart from each other, as Grafana's grid places them. */
export function panelsDoNotOverlap({ report }: PreviewResult): string[] {
  const found = report.panels
    .filter(({ box }) => box.left < 0 || box.right > PAGE_WIDTH)
    .map(({ title, box }) => `${title} leaves the page: ${JSON.stringify(box)}`);
  report.panels.forEach((a, index) => {
    for (const b of report.panels.slice(index + 1)) {
      const apart =
        a.box.right <= b.box.left ||
        b.box.right <= a.box.left ||
        a.box.bottom <= b.box.top ||
        b.box.bottom <= a.box.top;
      if (!apart) found.push(`${a.title} overlaps ${b.title}`);
    }
  });
  return found;
}

export const ALL_CHECKS = [
  panelsDoNotOverlap,
  everyPanelIsOnThePage,
  everyPanelDrewData,
  noErrorOrEmptyText,
  noConsoleErrors,
  durationAxisShowsTimeUnits,
  statusLegendMatchesTraffic,
];
