/**
 * The external tools some tests run, found once, here. bunfig.toml preloads this file, so before any test
 * runs `bun test` prints one line naming every missing tool and what it skips, and nothing when none is.
 * Locally a missing tool skips its tests; with CI set the required ones fail instead, so a green CI never
 * hides an unchecked config.
 */
import { existsSync } from "node:fs";

export const CI = Boolean(process.env.CI);

export const PROMTOOL = Bun.which("promtool");
export const PROMETHEUS = Bun.which("prometheus");
export const AMTOOL = Bun.which("amtool");
/** Debian names the Alertmanager binary prometheus-alertmanager; upstream's release calls it alertmanager. */
export const ALERTMANAGER = Bun.which("prometheus-alertmanager") ?? Bun.which("alertmanager");
export const KUBECTL = Bun.which("kubectl");
export const REDIS_SERVER = Bun.which("redis-server");
export const DOCKER_COMPOSE = Bun.which("docker-compose");
/** Go with Debian's go.starlark.net sources (GOPATH mode, offline): runs the Tiltfile. */
export const STARLARK_GOPATH = "/usr/share/gocode";
export const GO = existsSync(`${STARLARK_GOPATH}/src/go.starlark.net/starlark`) ? Bun.which("go") : null;

/** For a required tool: true when it is missing and CI is not set; in CI its tests run and fail instead. */
export function skipWithout(tool: string | null): boolean {
  return tool === null && !CI;
}

const prerequisites = [
  { name: "promtool", present: PROMTOOL !== null, required: true, tests: "config and alert rule checks" },
  {
    name: "prometheus",
    present: PROMETHEUS !== null,
    required: true,
    tests: "dashboard queries on a real Prometheus",
  },
  {
    name: "amtool",
    present: AMTOOL !== null,
    required: true,
    tests: "Alertmanager config and routing checks",
  },
  {
    name: "prometheus-alertmanager",
    present: ALERTMANAGER !== null,
    required: true,
    tests: "alerts reaching a real Alertmanager",
  },
  {
    name: "kubectl",
    present: KUBECTL !== null,
    required: true,
    tests: "Kubernetes manifest and Tiltfile tests",
  },
  { name: "docker-compose", present: DOCKER_COMPOSE !== null, required: true, tests: "compose file checks" },
  {
    name: "go + golang-starlark-dev",
    present: GO !== null,
    required: true,
    tests: "Tiltfile run in Starlark",
  },
  {
    name: "redis-server",
    present: REDIS_SERVER !== null,
    required: true,
    tests: "the Redis store: contract, outage and 507 tests",
  },
];

/** The one line naming the missing tools, or undefined when nothing is missing. */
function missingLine(): string | undefined {
  const missing = prerequisites.filter((tool) => !tool.present);
  if (missing.length === 0) return undefined;
  const named = missing.map(
    (tool) => `${tool.name} (${tool.required && CI ? "fails" : "skips"}: ${tool.tests})`,
  );
  const required = missing.filter((tool) => tool.required).map((tool) => tool.name);
  let advice = "optional, CI skips them too";
  if (required.length > 0) {
    const install = `install ${required.join(", ")} (see README)`;
    advice = CI ? `${install}: with CI set their tests fail` : `${install} or CI will fail`;
  }
  return `prerequisites missing: ${named.join(", ")} — ${advice}`;
}

const line = missingLine();
if (line !== undefined) console.warn(line);
