/**
 * `bun run dashboard:preview`: a few minutes of traffic against the real service and Prometheus, then
 * docs/dashboard.png as Grafana's panel code draws dashboards/storage-api.json. Refuses a wrong picture.
 */
import { copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_CHECKS } from "./checks";
import { runPreview } from "./preview";
import { PICTURE_FILE } from "./repo";

const minutes = Number(process.env.PREVIEW_TRAFFIC_MINUTES ?? 4);
// Drawn in a temp file first, so a failed run never replaces a good picture.
const draft = join(tmpdir(), "dashboard-preview.png");
const result = await runPreview(minutes * 60_000, draft);
for (const { title, type, state, legend } of result.report.panels) {
  console.log(`  ${title} (${type}): ${state}${legend.length > 0 ? `, legend ${legend.join(", ")}` : ""}`);
}
const problems = ALL_CHECKS.flatMap((check) => check(result));
if (problems.length > 0) {
  console.error(`picture not saved (left at ${draft}):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
copyFileSync(draft, PICTURE_FILE);
rmSync(draft);
console.log(`[dashboard preview] wrote ${PICTURE_FILE}`);
