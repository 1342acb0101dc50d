/**
 * Static checks of docker-compose.yml, the Dockerfile and .dockerignore: what the local stack promises
 * (ports, hardening, health gating, pinned images, mounts) and that it agrees with package.json, the
 * Prometheus config and the Kubernetes manifests. The container check (shared/tools/container-check) builds
 * and runs all of it for real; these run in milliseconds on every `bun test`.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { execForm, parseDockerfile, parseHealthcheck, type Stage } from "./support/dockerfile";
import { DOCKER, DOCKER_COMPOSE, DOCKER_COMPOSE_PLUGIN } from "./support/prerequisites";
import { list, mapping, read, root, strings, text } from "./support/repo";

/** Compose byte values ("512m", "1g", "1048576"), as Docker reads them (binary units). */
function bytes(value: string): number {
  const match = /^(\d+)([bkmg]?)b?$/i.exec(value.trim());
  if (!match?.[1]) throw new Error(`not a byte value: ${value}`);
  const unit = (match[2] ?? "").toLowerCase();
  const factor = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? Number.NaN;
  return Number(match[1]) * factor;
}

/** Compose durations ("10s", "1m30s", "500ms") in milliseconds. */
function durationMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join("") !== value) {
    throw new Error(`not a duration: ${value}`);
  }
  return parts.reduce((sum, part) => sum + Number(part[1]) * (units[part[2] ?? ""] ?? Number.NaN), 0);
}

/** "repo:tag" -> [repo, tag]; a registry port (host:5000/repo) is not mistaken for a tag. */
function splitImage(reference: string): [string, string | undefined] {
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  if (colon <= slash) return [reference, undefined];
  return [reference.slice(0, colon), reference.slice(colon + 1)];
}

const compose = mapping(parse(read("docker-compose.yml")), "docker-compose.yml");
const services = mapping(compose.services, "services");
const service = (name: string) => mapping(services[name], `service ${name}`);
const api = service("storage_api");
const apiEnv = mapping(api.environment, "storage_api.environment");
/** The API's compose environment as the server reads it (compose passes every value as a string). */
const apiConfigEnv = Object.fromEntries(Object.entries(apiEnv).map(([name, value]) => [name, String(value)]));
/** What a stop needs beyond the server's own drain and shutdown timeout: the process' exit, signal delivery. */
const STOP_MARGIN_MS = 2000;
const packageJson = mapping(JSON.parse(read("package.json")), "package.json");

interface Mount {
  service: string;
  source: string;
  target: string;
  mode: string | undefined;
}

const mounts: Mount[] = Object.keys(services).flatMap((name) =>
  strings(service(name).volumes ?? [], `${name}.volumes`).map((entry) => {
    const [source = "", target = "", mode] = entry.split(":");
    return { service: name, source, target, mode };
  }),
);
const isBind = (mount: Mount) => mount.source.startsWith(".") || mount.source.startsWith("/");

describe("docker-compose.yml", () => {
  test("parses with both Compose v2 and docker-compose 1.29: no version key, no top-level name", () => {
    expect(compose).not.toHaveProperty("version");
    expect(compose).not.toHaveProperty("name");
  });

  test("runs exactly the API, Prometheus and Grafana", () => {
    expect(Object.keys(services).sort()).toEqual(["grafana", "prometheus", "storage_api"]);
  });

  test("builds the API from the production stage and publishes port 5000", () => {
    const build = mapping(api.build, "storage_api.build");
    expect(build.context).toBe(".");
    expect(build.target).toBe("production");
    const ports = strings(api.ports, "storage_api.ports");
    expect(ports.some((port) => /^(?:[\d.]+:)?5000:5000$/.test(port))).toBe(true);
    expect(apiEnv.PORT).toBe("5000");
  });

  test("tags the API image with package.json's version", () => {
    expect(api.image).toBe(`${packageJson.name}:${packageJson.version}`);
  });

  test("hardens every service: no capabilities, no privilege escalation", () => {
    for (const name of Object.keys(services)) {
      expect({ name, capDrop: service(name).cap_drop }).toEqual({ name, capDrop: ["ALL"] });
      expect({ name, securityOpt: service(name).security_opt }).toEqual({
        name,
        securityOpt: ["no-new-privileges:true"],
      });
    }
  });

  test("runs the API and Prometheus on a read-only root filesystem", () => {
    expect(api.read_only).toBe(true);
    expect(service("prometheus").read_only).toBe(true);
  });

  test("sizes the API's mem_limit by memoryLimitBytes() of its compose environment", () => {
    const limit = bytes(text(api.mem_limit, "storage_api.mem_limit"));
    expect(limit).toBe(memoryLimitBytes(loadConfig(apiConfigEnv)));
  });

  test("gives the API longer to stop than its drain delay and shutdown timeout together", () => {
    const config = loadConfig(apiConfigEnv);
    // Docker's own default when stop_grace_period is not set.
    const graceMs =
      api.stop_grace_period === undefined
        ? 10_000
        : durationMs(text(api.stop_grace_period, "stop_grace_period"));
    expect(graceMs).toBeGreaterThanOrEqual(config.drainDelayMs + config.shutdownTimeoutMs + STOP_MARGIN_MS);
  });

  test("caps the logs of every service: json-file with max-size and max-file", () => {
    for (const name of Object.keys(services)) {
      const logging = mapping(service(name).logging, `${name}.logging`);
      expect({ name, driver: logging.driver }).toEqual({ name, driver: "json-file" });
      const options = mapping(logging.options, `${name}.logging.options`);
      // Docker takes option values as strings only.
      expect({ name, maxSize: bytes(text(options["max-size"], "max-size")) > 0 }).toEqual({
        name,
        maxSize: true,
      });
      expect({ name, maxFile: text(options["max-file"], "max-file") }).toEqual({
        name,
        maxFile: expect.stringMatching(/^[1-9]\d*$/),
      });
    }
  });

  test("health-checks every service in exec form (no shell needed in the image)", () => {
    for (const name of Object.keys(services)) {
      const healthcheck = mapping(service(name).healthcheck, `${name}.healthcheck`);
      const command = strings(healthcheck.test, `${name}.healthcheck.test`);
      expect({ name, form: command[0] }).toEqual({ name, form: "CMD" });
      expect(command.length).toBeGreaterThan(1);
    }
    expect(mapping(api.healthcheck, "storage_api.healthcheck").test).toEqual([
      "CMD",
      "bun",
      "server/healthcheck.ts",
    ]);
  });

  test("gates start-up on health: every depends_on waits for a healthy service that has a healthcheck", () => {
    const edges = Object.keys(services).flatMap((name) =>
      Object.entries(mapping(service(name).depends_on ?? {}, `${name}.depends_on`)).map(([target, spec]) => ({
        name,
        target,
        condition: mapping(spec, `${name}.depends_on.${target}`).condition,
      })),
    );
    expect(edges).toContainEqual({ name: "grafana", target: "prometheus", condition: "service_healthy" });
    for (const edge of edges) {
      expect(edge.condition).toBe("service_healthy");
      expect(service(edge.target).healthcheck).toBeDefined();
    }
  });

  test("pins every third-party image to an exact x.y.z version", () => {
    for (const name of ["prometheus", "grafana"]) {
      const [, tag] = splitImage(text(service(name).image, `${name}.image`));
      expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^v?\d+\.\d+\.\d+$/) });
    }
  });

  test("uses the same image tags as the Kubernetes manifests", () => {
    const k8sImages = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === "object" && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === "image" && typeof value === "string") k8sImages.add(value);
          else collect(value);
        }
      }
    };
    for (const file of readdirSync(join(root, "k8s"), { recursive: true, encoding: "utf8" })) {
      if (!/\.ya?ml$/.test(file)) continue;
      for (const doc of parseAllDocuments(read(join("k8s", file)))) collect(doc.toJS());
    }
    for (const name of Object.keys(services)) {
      const reference = text(service(name).image, `${name}.image`);
      const [repository] = splitImage(reference);
      const sameRepository = [...k8sImages].filter((image) => splitImage(image)[0] === repository);
      expect({ name, k8s: sameRepository }).toEqual({ name, k8s: [reference] });
    }
  });

  test("bind-mounts only files that exist in the repository, all read-only", () => {
    const binds = mounts.filter(isBind);
    expect(binds.length).toBeGreaterThan(0);
    for (const mount of binds) {
      expect({ source: mount.source, exists: existsSync(join(root, mount.source)) }).toEqual({
        source: mount.source,
        exists: true,
      });
      expect({ source: mount.source, mode: mount.mode }).toEqual({ source: mount.source, mode: "ro" });
    }
  });

  test("declares every named volume it uses, and uses every one it declares", () => {
    const used = new Set(mounts.filter((mount) => !isBind(mount)).map((mount) => mount.source));
    const declared = new Set(Object.keys(mapping(compose.volumes, "volumes")));
    expect([...used].sort()).toEqual([...declared].sort());
    expect(used).toEqual(new Set(["prometheus-data", "grafana-data"]));
  });

  test("mounts the compose Prometheus config, whose storage_api job scrapes storage_api:5000", () => {
    const prometheus = service("prometheus");
    expect(strings(prometheus.command, "prometheus.command")).toContain(
      "--config.file=/etc/prometheus/prometheus.yml",
    );
    const configMount = mounts.find(
      (mount) => mount.service === "prometheus" && mount.target === "/etc/prometheus/prometheus.yml",
    );
    expect(configMount?.source).toBe("./prometheus/prometheus.compose.yml");
    const config = mapping(parse(read("prometheus/prometheus.compose.yml")), "prometheus.compose.yml");
    const job = list(config.scrape_configs, "scrape_configs")
      .map((entry) => mapping(entry, "scrape config"))
      .find((entry) => entry.job_name === "storage_api");
    const targets = list(job?.static_configs, "storage_api static_configs").flatMap((entry) =>
      strings(mapping(entry, "static config").targets, "targets"),
    );
    expect(targets).toEqual(["storage_api:5000"]);
    // The rules file the config loads is the one compose mounts.
    for (const ruleFile of strings(config.rule_files, "rule_files")) {
      expect(mounts.some((mount) => mount.service === "prometheus" && mount.target === ruleFile)).toBe(true);
    }
  });

  test("mounts the dashboards folder into Grafana, where the provider reads it", () => {
    const dashboardMounts = mounts.filter((mount) => mount.source.startsWith("./dashboards"));
    expect(dashboardMounts).toEqual([
      {
        service: "grafana",
        source: "./dashboards",
        target: "/var/lib/grafana/dashboards",
        mode: "ro",
      },
    ]);
  });
});

describe("Dockerfile", () => {
  const dockerfile = parseDockerfile(read("Dockerfile"));
  const stage = (name: string): Stage => {
    const found = dockerfile.stages.find((candidate) => candidate.name === name);
    if (!found) throw new Error(`no stage ${name}`);
    return found;
  };
  const all = (from: Stage, keyword: string) =>
    from.instructions.filter((instruction) => instruction.keyword === keyword);
  const last = (from: Stage, keyword: string) => all(from, keyword).at(-1)?.args;
  const production = stage("production");

  test("builds every stage on the Bun version that package.json pins (bun.lock compatibility)", () => {
    const pinned = /^bun@(\d+\.\d+\.\d+)$/.exec(text(packageJson.packageManager, "packageManager"))?.[1];
    expect(pinned).toBeDefined();
    expect(dockerfile.globalArgs.get("BUN_VERSION")).toBe(pinned);
    for (const { name, from } of dockerfile.stages) {
      expect({ name, from }).toEqual({
        name,
        from: expect.stringMatching(new RegExp(`^oven/bun:${pinned}-`)),
      });
    }
  });

  test("has deps, dev and production stages, production last so it is the default target", () => {
    expect(dockerfile.stages.map((candidate) => candidate.name)).toEqual(["deps", "dev", "production"]);
    expect(production.from).toEndWith("-distroless");
  });

  test("installs dependencies from the frozen lockfile, production-only for the runtime image", () => {
    const depsInstall = all(stage("deps"), "RUN").map((run) => run.args);
    expect(depsInstall).toEqual([expect.stringMatching(/^bun install --frozen-lockfile --production\b/)]);
    expect(all(stage("dev"), "RUN").map((run) => run.args)).toContain("bun install --frozen-lockfile");
    const copies = all(production, "COPY").map((copy) => copy.args);
    expect(copies).toContain("--from=deps /app/node_modules ./node_modules");
  });

  test("production: no RUN (distroless has no shell), numeric non-root user, port 5000", () => {
    expect(all(production, "RUN")).toEqual([]);
    const user = /^(\d+)(?::(\d+))?$/.exec(last(production, "USER") ?? "");
    expect(user).not.toBeNull();
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(last(production, "EXPOSE")).toBe("5000");
    expect(last(production, "ENV")).toBe("NODE_ENV=production");
  });

  test("production: exec-form ENTRYPOINT/CMD that run server/main.ts, and an exec-form HEALTHCHECK", () => {
    const entrypoint = execForm(last(production, "ENTRYPOINT") ?? "");
    const cmd = execForm(last(production, "CMD") ?? "");
    expect([...(entrypoint ?? []), ...(cmd ?? [])]).toEqual(["bun", "server/main.ts"]);
    const healthcheck = parseHealthcheck(last(production, "HEALTHCHECK") ?? "");
    expect(healthcheck.command).toEqual(["bun", "server/healthcheck.ts"]);
    for (const option of ["interval", "timeout", "start-period", "retries"]) {
      expect(healthcheck.options.has(option)).toBe(true);
    }
  });

  test("dev: runs as uid 1000 (Tilt syncs files as that user) and restarts on change", () => {
    const dev = stage("dev");
    expect(last(dev, "USER")).toBe("1000:1000");
    expect(execForm(last(dev, "CMD") ?? "")).toEqual(["bun", "--watch", "server/main.ts"]);
  });
});

describe(".dockerignore", () => {
  const lines = read(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));

  test("is an allow-list: everything excluded, then only package.json, bun.lock and server/ let through", () => {
    expect(lines[0]).toBe("*");
    expect(lines.filter((line) => line.startsWith("!")).sort()).toEqual([
      "!bun.lock",
      "!package.json",
      "!server",
    ]);
  });

  test("lets through every file the Dockerfile copies from the build context", () => {
    const allowed = lines.filter((line) => line.startsWith("!")).map((line) => line.slice(1));
    const sources = parseDockerfile(read("Dockerfile"))
      .stages.flatMap((candidate) => candidate.instructions)
      .filter((instruction) => instruction.keyword === "COPY" && !instruction.args.includes("--from="))
      .flatMap((instruction) =>
        instruction.args
          .split(/\s+/)
          .filter((word) => !word.startsWith("--"))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      const path = source.replace(/\/$/, "");
      expect({ source, allowed: allowed.includes(path) }).toEqual({ source, allowed: true });
      expect(statSync(join(root, path))).toBeTruthy();
    }
  });
});

/** Ask the real Compose implementations too, where they are installed (CI may have no Docker at all). */
describe("compose CLIs accept the file", () => {
  // Optional everywhere, so never a failure; the preload's line names a missing one.
  const v1 = DOCKER_COMPOSE;
  const v2 = DOCKER_COMPOSE_PLUGIN;

  const check = (command: string[]) => {
    const result = Bun.spawnSync(command, {
      cwd: root,
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env },
    });
    expect({ exitCode: result.exitCode, stderr: result.stderr.toString().trim() }).toEqual({
      exitCode: 0,
      stderr: "",
    });
  };

  test.skipIf(!v1)("docker-compose (1.29) config -q", () => check([v1 ?? "", "config", "-q"]), 30_000);
  test.skipIf(!v2)(
    "docker compose (v2) config -q",
    () => check([DOCKER ?? "", "compose", "config", "-q"]),
    30_000,
  );
});
