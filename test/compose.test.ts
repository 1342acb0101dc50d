/**
 * The compose files as Debian's docker-compose 1.29 reads them (`config`: validated, interpolated, paths
 * resolved), docker-compose.yml alone and with each override beside it; then the Dockerfile (read by
 * dockerfile-ast) and .dockerignore. Compose v2 is not installed here and is not run.
 */
import { expect, test } from "bun:test";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { dockerignoreAllowed, stages, steps } from "./support/dockerfile";
import { DOCKER_COMPOSE, KUBECTL } from "./support/prerequisites";
import type { Any } from "./support/render";
import * as cfg from "./support/render";
import { read, root } from "./support/repo";

const pkg = JSON.parse(read("package.json"));
/** Docker's byte sizes ("1280m") and durations ("10s"). */
const bytes = (value: string) =>
  Number.parseInt(value, 10) * 1024 ** " kmg".indexOf(value.slice(-1).toLowerCase());
const ms = (value = "10s") =>
  Number.parseInt(value, 10) * ({ s: 1e3, m: 6e4 }[value.slice(-1)] ?? Number.NaN);
const k8sImages = () =>
  KUBECTL
    ? cfg.kustomizations.flatMap((dir) => cfg.workloads(cfg.render(dir))).flatMap((item) => item.containers)
    : [];

for (const files of cfg.composeFiles) {
  cfg.describeWith(DOCKER_COMPOSE, "docker-compose")(`docker-compose -f ${files.join(" -f ")}`, () => {
    const config = () => cfg.composeConfig(files);
    const services = () =>
      Object.entries(config().services).map(([name, service]: Any) => ({ name, ...service }));
    const byName = (service: Any) => service.name;

    test("is accepted by docker-compose 1.29 without a warning (`config -q`)", () => {
      const check = Bun.spawnSync(
        [DOCKER_COMPOSE ?? "", ...files.flatMap((file) => ["-f", file]), "config", "-q"],
        { cwd: root },
      );
      expect([check.exitCode, check.stderr.toString()]).toEqual([0, ""]);
    });

    test("hardens every service: no capability or privilege escalation, read-only root (Grafana: unprovable here) and binds", () => {
      const hardened = [["ALL"], ["no-new-privileges:true"]];
      // docker-compose itself refuses an undeclared named volume; a bind mount must be a repository file, read-only.
      const bind = (volume: string) =>
        !volume.startsWith("/") || (volume.startsWith(`${root}/`) && volume.endsWith(":ro"));
      cfg.expectAll(services(), byName, ({ name, cap_drop, security_opt, read_only, volumes = [] }) => {
        const readOnly = read_only || name === "grafana";
        return Bun.deepEquals([cap_drop, security_opt], hardened) && readOnly && volumes.every(bind);
      });
    });

    test("publishes ports on 127.0.0.1 only, and caps every service's json-file logs by size and count", () => {
      cfg.expectAll(services(), byName, ({ ports = [], logging }) => {
        const capped =
          bytes(logging?.options["max-size"] ?? "0") > 0 && /^[1-9]\d*$/.test(logging?.options["max-file"]);
        return (
          ports.every((port: string) => port.startsWith("127.0.0.1:")) &&
          logging?.driver === "json-file" &&
          capped
        );
      });
    });

    test("health-checks every service in exec form, and starts a dependant only once its dependency is healthy", () => {
      const healthy = ([target, { condition }]: Any) =>
        condition === "service_healthy" && config().services[target].healthcheck;
      cfg.expectAll(
        services(),
        byName,
        ({ healthcheck, depends_on = {} }) =>
          healthcheck?.test[0] === "CMD" &&
          healthcheck.test.length > 1 &&
          Object.entries(depends_on).every(healthy),
      );
      expect(config().services.grafana.depends_on.prometheus.condition).toBe("service_healthy");
    });

    test("runs images pinned to x.y.z, each the same reference as in every Kubernetes render", () => {
      cfg.expectAll(services(), byName, ({ image }) => {
        const [repository, tag] = cfg.splitImage(image);
        const same = new Set(
          k8sImages().flatMap((c) => (cfg.splitImage(c.image)[0] === repository ? [c.image] : [])),
        );
        return /^v?\d+\.\d+\.\d+$/.test(tag ?? "") && [...same].join() === (KUBECTL ? image : "");
      });
    });

    test("builds the API's production stage as package.json's version, sized and stopped as its settings need", () => {
      const [api] = services().filter((service) => service.build);
      expect([api.build, api.image]).toEqual([
        { context: root, target: "production" },
        `${pkg.name}:${pkg.version}`,
      ]);
      expect(api.ports.map((port: string) => port.split(":").at(-1))).toEqual([
        `${api.environment.PORT}/tcp`,
      ]);
      expect(api.healthcheck.test).toEqual(["CMD", "bun", "server/healthcheck.ts"]);
      // An OOM kill loses the whole store; Docker's SIGKILL must not cut the drain short (2 s to exit after it).
      const settings = loadConfig(api.environment);
      expect(bytes(api.mem_limit)).toBe(memoryLimitBytes(settings));
      expect(ms(api.stop_grace_period)).toBeGreaterThanOrEqual(
        settings.drainDelayMs + settings.shutdownTimeoutMs + 2000,
      );
    });
  });
}

test("the Dockerfile builds on package.json's Bun from the frozen lockfile; production runs non-root, shell-less", () => {
  const bun = /^bun@(\d+\.\d+\.\d+)$/.exec(pkg.packageManager)?.[1];
  const last = (stage: string, keyword: string) => steps(stage, keyword).at(-1);
  expect([...stages.keys()]).toEqual(["deps", "dev", "production"]); // production last: the default target
  for (const stage of stages.keys()) expect(last(stage, "FROM")?.args[0]).toStartWith(`oven/bun:${bun}-`);
  expect(last("deps", "RUN")?.args.join(" ")).toStartWith("bun install --frozen-lockfile --production");
  expect(last("dev", "RUN")?.args.join(" ")).toBe("bun install --frozen-lockfile");
  // Distroless: no shell, so no RUN and exec forms only; a numeric user, so runAsNonRoot can verify it.
  expect(last("production", "FROM")?.args[0]).toEndWith("-distroless");
  expect([steps("production", "RUN"), last("production", "USER")?.args[0]]).toEqual([
    [],
    expect.stringMatching(/^[1-9]\d*:[1-9]\d*$/),
  ]);
  expect([last("production", "ENTRYPOINT")?.exec, last("production", "CMD")?.exec]).toEqual([
    ["bun"],
    ["server/main.ts"],
  ]);
  expect(last("production", "HEALTHCHECK")?.args.join(" ")).toBe('CMD ["bun", "server/healthcheck.ts"]');
  // dev: the owner of /app (Tilt syncs into it), restarting on change.
  expect(last("dev", "CMD")?.exec).toEqual(["bun", "--watch", "server/main.ts"]);
});

test(".dockerignore excludes everything, then lets through exactly what the Dockerfile copies from the context", () => {
  const copies = [...stages.values()]
    .flat()
    .filter((step) => step.keyword === "COPY" && !String(step.flags).includes("--from"));
  const sources = copies.flatMap((step) =>
    step.args.slice(0, -1).map((source) => `!${source.replace(/\/$/, "")}`),
  );
  expect([read(".dockerignore").match(/^\*$/m)?.[0], dockerignoreAllowed.toSorted()]).toEqual([
    "*",
    [...new Set(sources)].sort(),
  ]);
});
