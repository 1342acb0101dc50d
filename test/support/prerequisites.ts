/**
 * The external tools some tests run, found once, here. bunfig.toml preloads this file, so before any test
 * runs `bun test` prints one line naming every missing tool and what it skips, and nothing when none is.
 * Locally a missing tool skips its tests; with CI set they fail instead, so a green CI never hides an
 * unchecked config.
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

/** Runs a tool in the repository, 60 s at most: exit code and all output. A missing one throws (CI set). */
export function runTool(tool: string | null, ...args: string[]) {
  if (tool === null) throw new Error("a tool is missing and CI is set: see the prerequisites line above");
  const result = Bun.spawnSync([tool, ...args], { cwd: `${import.meta.dir}/../..`, timeout: 60_000 });
  return { exitCode: result.exitCode, output: result.stdout.toString() + result.stderr.toString() };
}

const missing = (
  [
    ["promtool", PROMTOOL, "config and alert rule checks"],
    ["prometheus", PROMETHEUS, "dashboard queries on a real Prometheus"],
    ["amtool", AMTOOL, "Alertmanager config and routing checks"],
    ["prometheus-alertmanager", ALERTMANAGER, "alerts reaching a real Alertmanager"],
    ["kubectl", KUBECTL, "Kubernetes manifest and Tiltfile tests"],
    ["docker-compose", DOCKER_COMPOSE, "compose file checks"],
    ["go + golang-starlark-dev", GO, "Tiltfile run in Starlark"],
    ["redis-server", REDIS_SERVER, "the Redis store: contract, outage and 507 tests"],
  ] as const
).filter(([, path]) => path === null);
if (missing.length > 0) {
  const named = missing.map(([name, , tests]) => `${name} (${CI ? "fails" : "skips"}: ${tests})`);
  const install = `install ${missing.map(([name]) => name).join(", ")} (see README)`;
  const advice = CI ? `${install}: with CI set their tests fail` : `${install} or CI will fail`;
  console.warn(`prerequisites missing: ${named.join(", ")} — ${advice}`);
}
