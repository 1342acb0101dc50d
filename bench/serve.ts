/**
 * `bun bench/serve.ts <variant>`: starts one benchmark variant on 127.0.0.1 and a free port and prints
 * `{"port": N}` as its first stdout line. Every variant starts through this file, so all of them run with
 * the same Bun flags, environment (bench/run.ts sets NODE_ENV=production) and listen options.
 */
import { Elysia } from "elysia";
import { createApp } from "../server/app";
import { silentLogger } from "../server/log";
import { createMinimalApp } from "./minimal-server";

/**
 * service: the real service (createApp()). service-no-metrics: the same without the metrics plugin.
 * service-empty-hooks: service-no-metrics under the plugin's two hooks (onTransform + mapResponse) with
 * nothing in them, so the plugin's cost splits into what the hooks cost and what the plugin does in them.
 * minimal and minimal-empty-hooks: the calibration points (bench/minimal-server.ts).
 */
export const VARIANTS = [
  "service",
  "service-no-metrics",
  "service-empty-hooks",
  "minimal",
  "minimal-empty-hooks",
] as const;
export type Variant = (typeof VARIANTS)[number];

function build(variant: Variant) {
  switch (variant) {
    case "service":
      return createApp({ logger: silentLogger });
    case "service-no-metrics":
      return createApp({ metrics: false, logger: silentLogger });
    case "service-empty-hooks":
      // Global hooks registered before .use() apply to the used app's routes, its catch-all route included.
      return new Elysia()
        .onTransform({ as: "global" }, () => {})
        .mapResponse({ as: "global" }, () => {})
        .use(createApp({ metrics: false, logger: silentLogger }));
    case "minimal":
      return createMinimalApp({ emptyHooks: false });
    case "minimal-empty-hooks":
      return createMinimalApp({ emptyHooks: true });
  }
}

if (import.meta.main) {
  const variant = process.argv[2];
  if (!VARIANTS.includes(variant as Variant)) {
    console.error(`usage: bun bench/serve.ts <${VARIANTS.join("|")}>`);
    process.exit(2);
  }
  const app = build(variant as Variant);
  // The listen options of server/main.ts (Bun's own body limit lifted), for every variant alike.
  app.listen({ hostname: "127.0.0.1", port: 0, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
  console.log(JSON.stringify({ port: app.server?.port }));
  // A clean exit on SIGTERM, so `bun --cpu-prof-md bench/serve.ts <variant>` writes its profile.
  process.on("SIGTERM", () => process.exit(0));
}
