/**
 * Builds web/ into a temp dir and serves it on 127.0.0.1 with what the page needs: the dashboard file, the
 * data source's settings, a proxy to Prometheus' query_range, and @grafana/ui's icons and Inter fonts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onCleanup } from "./cleanup";
import { DASHBOARD_FILE, datasourceSettings } from "./repo";

export interface PageServer {
  url: string;
}

const PREVIEW = join(import.meta.dir, "..");
const ICONS = join(PREVIEW, "node_modules/@grafana/ui/dist/public/img/icons");
const INTER = join(PREVIEW, "node_modules/@fontsource/inter/files");
/** The Inter files Grafana's global styles ask for, by the names Grafana gives them. */
const FONTS: Record<string, string> = {
  "Inter-Regular.woff2": "inter-latin-400-normal.woff2",
  "Inter-Medium.woff2": "inter-latin-500-normal.woff2",
  "Inter-Italic.woff2": "inter-latin-400-italic.woff2",
  "Inter-MediumItalic.woff2": "inter-latin-500-italic.woff2",
};

async function build(outdir: string): Promise<void> {
  const result = await Bun.build({
    entrypoints: [join(PREVIEW, "web/index.html")],
    outdir,
    target: "browser",
    minify: true,
    // React's production build: no development warnings in the console.
    define: { "process.env.NODE_ENV": '"production"' },
  });
  if (!result.success) throw new AggregateError(result.logs, "building web/ failed");
}

/** A file under `dir`, or 404; `name` never leaves `dir`. */
async function fileIn(dir: string, name: string): Promise<Response> {
  const file = Bun.file(join(dir, name));
  if (name.includes("..") || !(await file.exists())) return new Response("not found", { status: 404 });
  return new Response(file);
}

/** Passes the page's form POST on to Prometheus, as Grafana's data source proxy would. */
async function queryRange(prometheusUrl: string, request: Request): Promise<Response> {
  const upstream = await fetch(`${prometheusUrl}/api/v1/query_range`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: await request.text(),
  });
  // A new response: fetch has already decoded the body its content-encoding header speaks of.
  return new Response(await upstream.text(), {
    status: upstream.status,
    headers: { "content-type": "application/json" },
  });
}

export async function startPageServer(prometheusUrl: string): Promise<PageServer> {
  const outdir = mkdtempSync(join(tmpdir(), "dashboard-preview-page-"));
  onCleanup(() => rmSync(outdir, { recursive: true, force: true }));
  await build(outdir);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    routes: {
      "/": () => fileIn(outdir, "index.html"),
      // Read on every request: the page always shows the dashboard file as it is now.
      "/dashboard.json": () => new Response(Bun.file(DASHBOARD_FILE)),
      "/datasource.json": () => Response.json(datasourceSettings()),
      "/prometheus/api/v1/query_range": (request) =>
        request.method === "POST" ? queryRange(prometheusUrl, request) : new Response(null, { status: 405 }),
      "/public/build/img/icons/*": (request) =>
        fileIn(ICONS, new URL(request.url).pathname.slice("/public/build/img/icons/".length)),
      "/public/fonts/inter/:name": (request) => {
        const file = FONTS[request.params.name];
        return file === undefined ? new Response("not found", { status: 404 }) : fileIn(INTER, file);
      },
    },
    fetch: (request) => fileIn(outdir, new URL(request.url).pathname.slice(1)),
  });
  onCleanup(() => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/` };
}
