/**
 * Opens the page in Debian's Chromium (never a downloaded browser) with a fresh profile, waits until every
 * panel has drawn, and reports what each panel shows; optionally takes a picture of the page.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { onCleanup } from "./cleanup";

/** Debian's path unless CHROMIUM names another binary (a Chrome or Chromium; playwright-core downloads none). */
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
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
  /** The whole page as PNG, when asked for. */
  picture?: Buffer;
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

export async function renderPage(url: string, withPicture = false, timeoutMs = 60_000): Promise<PageReport> {
  const profile = mkdtempSync(join(tmpdir(), "dashboard-preview-chromium-"));
  onCleanup(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: PAGE_WIDTH, height: 1000 },
    deviceScaleFactor: 1,
    // Signals are src/cleanup.ts's: Playwright's own handlers would exit before the temp dirs are removed.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  onCleanup(() => context.close());
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
  const picture = withPicture ? await page.screenshot({ fullPage: true }) : undefined;
  return { ...(await page.evaluate(collect)), consoleErrors, picture };
}
