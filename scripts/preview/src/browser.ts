/**
 * Opens the page in Debian's Chromium (never a downloaded browser) with a fresh profile, waits until every
 * panel has drawn, and reports what each panel shows; optionally saves a screenshot.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
export const PAGE_WIDTH = 1600;

export const chromiumInstalled = () => existsSync(CHROMIUM);

export interface PanelReport {
  title: string;
  type: string;
  state: string;
  /** Text drawn on the panel's canvases (axis ticks), recorded as the graph draws it. */
  canvasTexts: string[];
  canvases: number;
  legend: string[];
  /** The value a panel the packages cannot draw shows instead (see web/panels/GaugeUnavailable.tsx). */
  fallbackValues: string[];
  text: string;
  /** Where the panel's box is on the page, in CSS pixels. */
  box: { left: number; top: number; right: number; bottom: number };
}

export interface PageReport {
  title: string;
  panels: PanelReport[];
  consoleErrors: string[];
}

/** Runs in the page before any script: remembers every fillText per canvas, since axes are canvas pixels. */
function recordCanvasText() {
  const drawn = new WeakMap<HTMLCanvasElement, Set<string>>();
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    const texts = drawn.get(this.canvas) ?? new Set<string>();
    texts.add(String(text));
    drawn.set(this.canvas, texts);
    return fillText.call(this, text, ...rest);
  };
  Object.assign(window, { __canvasTexts: (canvas: HTMLCanvasElement) => [...(drawn.get(canvas) ?? [])] });
}

/** Runs in the page: one report per panel box. */
function collect(): Omit<PageReport, "consoleErrors"> {
  const canvasTexts = (window as unknown as { __canvasTexts: (c: HTMLCanvasElement) => string[] })
    .__canvasTexts;
  const panels = [...document.querySelectorAll<HTMLElement>("[data-panel-title]")].map((box) => ({
    title: box.dataset.panelTitle ?? "",
    type: box.dataset.panelType ?? "",
    state: box.dataset.panelState ?? "",
    canvases: box.querySelectorAll("canvas").length,
    canvasTexts: [...box.querySelectorAll("canvas")].flatMap((canvas) => canvasTexts(canvas)),
    legend: [...box.querySelectorAll('[data-testid^="data-testid VizLegend series "]')].map(
      (entry) => entry.textContent?.trim() ?? "",
    ),
    fallbackValues: [...box.querySelectorAll<HTMLElement>("[data-gauge-value]")].map(
      (value) => value.textContent ?? "",
    ),
    text: box.textContent ?? "",
    box: (({ left, top, right, bottom }) => ({ left, top, right, bottom }))(box.getBoundingClientRect()),
  }));
  return { title: document.querySelector("h1")?.textContent ?? "", panels };
}

export async function renderPage(
  url: string,
  screenshotPath?: string,
  timeoutMs = 60_000,
): Promise<PageReport> {
  const profile = mkdtempSync(join(tmpdir(), "dashboard-preview-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: PAGE_WIDTH, height: 1000 },
    deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    await page.addInitScript(recordCanvasText);
    await page.goto(url);
    await page.waitForSelector("body[data-ready=true]", { timeout: timeoutMs });
    // Grow the window to the whole dashboard, then let the graphs redraw at their final size.
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    await page.setViewportSize({ width: PAGE_WIDTH, height });
    await page.waitForTimeout(500);
    if (screenshotPath !== undefined) await page.screenshot({ path: screenshotPath, fullPage: true });
    return { ...(await page.evaluate(collect)), consoleErrors };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
