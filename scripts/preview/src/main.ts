/**
 * `bun run dashboard:preview`: a few minutes of traffic against the real service and Prometheus, then a
 * picture of dashboards/storage-api.json as Grafana's panel code draws it (the gauge: a text stand-in).
 * Refuses a wrong picture.
 */
import { accessSync, constants, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CHROMIUM } from "./browser";
import { ALL_CHECKS } from "./checks";
import { cleanUpOnSignals } from "./cleanup";
import { runPreview } from "./preview";
import { PROMETHEUS_BINARY } from "./prometheus";
import { PICTURE_FILE } from "./repo";

const USAGE = `usage: bun run dashboard:preview [-- --out FILE.png | --update-docs]

  --out FILE.png   where to write the picture (default: a new file in ${tmpdir()}, printed at the end)
  --update-docs    write the committed picture, docs/dashboard.png

PREVIEW_TRAFFIC_MINUTES  minutes of traffic before the picture (default 4)
CHROMIUM                 the browser binary (default /usr/bin/chromium; nothing is downloaded)
Needs prometheus on PATH. See scripts/preview/README.md.`;

function exit(code: number, message: string): never {
  (code === 0 ? console.log : console.error)(message);
  process.exit(code);
}

let values: { out?: string; "update-docs"?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      out: { type: "string" },
      "update-docs": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  exit(2, `dashboard:preview: ${(error as Error).message} (see --help)`);
}
if (values.help) exit(0, USAGE);
if (values.out !== undefined && values["update-docs"])
  exit(2, "dashboard:preview: --out or --update-docs, not both");
const out = values["update-docs"]
  ? PICTURE_FILE
  : (values.out ?? join(tmpdir(), `dashboard-preview-${Date.now()}.png`));
const minutesText = process.env.PREVIEW_TRAFFIC_MINUTES ?? "4";
const minutes = Number(minutesText);
if (!(Number.isFinite(minutes) && minutes > 0)) {
  exit(2, `dashboard:preview: PREVIEW_TRAFFIC_MINUTES must be a positive number, got '${minutesText}'`);
}
try {
  accessSync(CHROMIUM, constants.X_OK);
} catch {
  exit(
    1,
    `dashboard:preview: 'chromium' is not installed at ${CHROMIUM} (apt-get install chromium, or CHROMIUM=/path/to/chrome)`,
  );
}
if (PROMETHEUS_BINARY === null)
  exit(1, "dashboard:preview: 'prometheus' is not installed (apt-get install prometheus)");

cleanUpOnSignals();
const result = await runPreview(minutes * 60_000, true);
for (const { title, type, state, legend } of result.report.panels) {
  console.log(`  ${title} (${type}): ${state}${legend.length > 0 ? `, legend ${legend.join(", ")}` : ""}`);
}
const problems = ALL_CHECKS.flatMap((check) => check(result));
// A rejected picture goes beside the requested one, so a failed run never replaces a good picture.
const rejected = out.replace(/(\.png)?$/, ".rejected.png");
writeFileSync(problems.length > 0 ? rejected : out, result.report.picture ?? "");
if (problems.length > 0)
  exit(1, `picture not saved; the rejected one: ${rejected}\n  ${problems.join("\n  ")}`);
console.log(`[dashboard preview] wrote ${out}`);
