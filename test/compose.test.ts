/**
 * docker-compose.yml as Debian's docker-compose 1.29 reads it (`config`: validated, interpolated, anchors and
 * paths resolved), alone and with each override file beside it; then the Dockerfile (dockerfile-ast) and
 * .dockerignore. Compose v2 is not installed here, so nothing claims it was run.
 */
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { stages, steps } from "./support/dockerfile";
import {
  type Any,
  composeConfig,
  composeFiles,
  describeWith,
  kustomizations,
  read,
  render,
  root,
  splitImage,
  workloads,
} from "./support/k8s";
import { DOCKER_COMPOSE, KUBECTL } from "./support/prerequisites";

const pkg = JSON.parse(read("package.json"));
const STOP_MARGIN_MS = 2000;
/** Docker's byte sizes ("1280m", "10m") and durations ("10s", "1m30s"). */
const bytes = (value: string) =>
  Number.parseInt(value, 10) * 1024 ** " kmg".indexOf(value.slice(-1).toLowerCase());
const ms = (value = "10s") =>
  [...value.matchAll(/(\d+)(ms|s|m|h)/g)].reduce(
    (sum, [, n, unit]) => sum + Number(n) * { ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }[unit as "s"],
    0,
  );
const expectAll = <T>(items: T[], id: (item: T) => string, holds: (item: T) => unknown) =>
  expect(items.filter((item) => !holds(item)).map(id)).toEqual([]);

for (const files of composeFiles) {
  describeWith(DOCKER_COMPOSE, "docker-compose")(
    `docker-compose ${files.map((file) => `-f ${file}`).join(" ")} config`,
    () => {
      const config = () => composeConfig(files);
      const services = () =>
        Object.entries(config().services as Record<string, Any>).map(([name, service]) => ({
          name,
          ...service,
        }));
      const every = (rule: string, holds: (service: Any) => unknown) =>
        test(`every service ${rule}`, () => expectAll(services(), (service) => service.name, holds));

      test("is accepted by docker-compose 1.29 without a warning (`config -q`)", () => {
        const check = Bun.spawnSync(
          [DOCKER_COMPOSE ?? "", ...files.flatMap((file) => ["-f", file]), "config", "-q"],
          { cwd: root },
        );
        expect({ status: check.exitCode, stderr: check.stderr.toString() }).toEqual({
          status: 0,
          stderr: "",
        });
      });
      every("drops all capabilities and forbids privilege escalation", (service) =>
        Bun.deepEquals([service.cap_drop, service.security_opt], [["ALL"], ["no-new-privileges:true"]]),
      );
      // Grafana's exception: no local check can run Grafana to prove that a read-only root works.
      every(
        "runs on a read-only root filesystem (Grafana excepted)",
        (service) => service.read_only || service.name === "grafana",
      );
      every("publishes ports on 127.0.0.1 only", (service) =>
        (service.ports ?? []).every((port: string) => port.startsWith("127.0.0.1:")),
      );
      every(
        "caps its json-file logs by size and count",
        ({ logging }) =>
          logging?.driver === "json-file" &&
          bytes(logging.options["max-size"]) > 0 &&
          /^[1-9]\d*$/.test(logging.options["max-file"]),
      );
      every(
        "health-checks in exec form (no shell needed in the image)",
        ({ healthcheck }) => healthcheck?.test[0] === "CMD" && healthcheck.test.length > 1,
      );
      every("waits only for healthy services that have a healthcheck", ({ depends_on = {} }) =>
        Object.entries(depends_on).every(
          ([target, { condition }]: Any) =>
            condition === "service_healthy" && config().services[target].healthcheck,
        ),
      );
      every("runs an image pinned to x.y.z, the same reference as every Kubernetes render", ({ image }) => {
        const [repository, tag] = splitImage(image);
        const k8s = KUBECTL
          ? kustomizations.flatMap((dir) => workloads(render(dir)).flatMap((item) => item.containers))
          : [];
        const same = new Set(
          k8s.map((container) => container.image).filter((other) => splitImage(other)[0] === repository),
        );
        return /^v?\d+\.\d+\.\d+$/.test(tag ?? "") && [...same].join() === (KUBECTL ? image : "");
      });
      every("bind-mounts only repository files, read-only, and declares every named volume", (service) =>
        (service.volumes ?? []).every((volume: string) => {
          const [source = "", , mode] = volume.split(":");
          return source.startsWith("/")
            ? existsSync(source) && !relative(root, source).startsWith("..") && mode === "ro"
            : source in config().volumes;
        }),
      );

      test("builds the API from the production stage, tagged with package.json's version, listening on its PORT", () => {
        const [api] = services().filter((service) => service.build);
        expect(api.build).toEqual({ context: root, target: "production" });
        expect(api.image).toBe(`${pkg.name}:${pkg.version}`);
        expect(api.ports.map((port: string) => port.split(":").at(-1))).toEqual([
          `${api.environment.PORT}/tcp`,
        ]);
        expect(api.healthcheck.test).toEqual(["CMD", "bun", "server/healthcheck.ts"]);
        // An OOM kill loses the whole store; Docker's SIGKILL must not cut the drain short.
        const settings = loadConfig(api.environment);
        expect(bytes(api.mem_limit)).toBe(memoryLimitBytes(settings));
        expect(ms(api.stop_grace_period)).toBeGreaterThanOrEqual(
          settings.drainDelayMs + settings.shutdownTimeoutMs + STOP_MARGIN_MS,
        );
        expect(config().services.grafana.depends_on.prometheus.condition).toBe("service_healthy");
      });
    },
  );
}

describe("Dockerfile", () => {
  const bun = /^bun@(\d+\.\d+\.\d+)$/.exec(pkg.packageManager)?.[1];

  test("builds deps, dev and production (last: the default) on package.json's Bun, installing from the frozen lockfile", () => {
    expect([...stages.keys()]).toEqual(["deps", "dev", "production"]);
    for (const stage of stages.keys())
      expect(steps(stage, "FROM")[0]?.args[0]).toStartWith(`oven/bun:${bun}-`);
    expect(steps("production", "FROM")[0]?.args[0]).toEndWith("-distroless");
    expect(steps("deps", "RUN").map((run) => run.args.slice(0, 4).join(" "))).toEqual([
      "bun install --frozen-lockfile --production",
    ]);
    expect(steps("dev", "RUN").map((run) => run.args.join(" "))).toContain("bun install --frozen-lockfile");
    expect(steps("production", "COPY").map((copy) => `${copy.flags} ${copy.args.join(" ")}`)).toContain(
      "--from=deps /app/node_modules ./node_modules",
    );
  });

  test("production: no shell (no RUN), a numeric non-root user, exec-form server/main.ts, an exec-form HEALTHCHECK", () => {
    expect(steps("production", "RUN")).toEqual([]);
    expect(steps("production", "USER").at(-1)?.args[0]).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(steps("production", "EXPOSE").map((step) => step.args)).toEqual([["5000"]]);
    expect(steps("production", "ENV").map((step) => step.args)).toEqual([["NODE_ENV=production"]]);
    expect(
      ["ENTRYPOINT", "CMD"].flatMap((keyword) => steps("production", keyword).at(-1)?.exec ?? []),
    ).toEqual(["bun", "server/main.ts"]);
    const [healthcheck] = steps("production", "HEALTHCHECK");
    expect(JSON.parse(healthcheck?.args.slice(1).join(" ") ?? "")).toEqual(["bun", "server/healthcheck.ts"]);
    expect(healthcheck?.flags.map((flag) => flag.split("=")[0])).toEqual([
      "--interval",
      "--timeout",
      "--start-period",
      "--retries",
    ]);
  });

  test("dev: runs as uid 1000, which owns /app for Tilt's sync, and restarts on change", () => {
    expect(steps("dev", "USER").at(-1)?.args).toEqual(["1000:1000"]);
    expect(steps("dev", "CMD").at(-1)?.exec).toEqual(["bun", "--watch", "server/main.ts"]);
  });

  test(".dockerignore excludes everything, then lets through exactly what the Dockerfile copies from the context", () => {
    const lines = read(".dockerignore")
      .split("\n")
      .filter((line) => line.trim() && !line.startsWith("#"));
    const copied = [...stages.values()]
      .flat()
      .filter((step) => step.keyword === "COPY" && !step.flags.some((flag) => flag.startsWith("--from")));
    const sources = new Set(
      copied.flatMap((step) => step.args.slice(0, -1).map((source) => source.replace(/\/$/, ""))),
    );
    expect(lines[0]).toBe("*");
    expect(lines.filter((line) => line.startsWith("!")).sort()).toEqual(
      [...sources].map((source) => `!${source}`).sort(),
    );
    for (const source of sources) expect(existsSync(join(root, source))).toBe(true);
  });
});
