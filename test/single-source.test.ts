/**
 * The monitoring configuration exists exactly once. docker compose bind-mounts the shared files and the
 * Kubernetes kustomizations generate ConfigMaps from the very same files, so the two stacks cannot drift:
 * no other file in the repository (tracked, or untracked and not ignored) is a copy, renamed or
 * reformatted, and both platforms put each file at the same path inside the container.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { basename, dirname, join, normalize, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { describeWithKubectl, list, mapping, ofKind, render, root, text, workloads } from "./support/k8s";

/** Shared by both platforms, byte for byte. */
const SHARED = [
  "prometheus/alerts.yml",
  "dashboards/storage-api.json",
  "grafana/provisioning/datasources/prometheus.yml",
  "grafana/provisioning/dashboards/storage-api.yml",
];
/** The one pair allowed to differ (how the API is found), side by side in prometheus/. */
const COMPOSE_ONLY = "prometheus/prometheus.compose.yml";
const KUBERNETES_ONLY = "prometheus/prometheus.kubernetes.yml";
const CONFIG_FILES = [...SHARED, COMPOSE_ONLY, KUBERNETES_ONLY];

const read = (path: string) => readFileSync(join(root, path));

/** Tracked files plus untracked ones that .gitignore does not exclude: everything a commit could carry. */
function repositoryFiles(): string[] {
  const result = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], {
    cwd: root,
    encoding: "utf8",
    timeout: 10_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`git ls-files failed: ${result.stderr}`);
  // A file deleted in the work tree but still in the index is not there to hold a copy.
  return result.stdout.split("\0").filter((path) => path !== "" && isFile(path));
}

function isFile(path: string): boolean {
  try {
    return statSync(join(root, path)).isFile();
  } catch {
    return false;
  }
}

const parsed = new Map<string, unknown[]>();

/** The parsed documents of a YAML or JSON file; none for other files or for text that does not parse. */
function documents(path: string): unknown[] {
  const cached = parsed.get(path);
  if (cached) return cached;
  const result = parseDocuments(path);
  parsed.set(path, result);
  return result;
}

function parseDocuments(path: string): unknown[] {
  const content = read(path).toString("utf8");
  if (path.endsWith(".json")) {
    try {
      return [JSON.parse(content)];
    } catch {
      return [];
    }
  }
  if (!/\.ya?ml$/.test(path)) return [];
  return parseAllDocuments(content)
    .filter((document) => document.errors.length === 0)
    .map((document) => document.toJS());
}

const files = repositoryFiles();

describe("shared monitoring configuration", () => {
  test("every shared file is in the repository", () => {
    for (const path of CONFIG_FILES)
      expect({ path, present: files.includes(path) }).toEqual({ path, present: true });
  });

  test("no other file has the same bytes as a shared file", () => {
    for (const path of CONFIG_FILES) {
      const original = read(path);
      const copies = files.filter((other) => other !== path && read(other).equals(original));
      expect({ path, copies }).toEqual({ path, copies: [] });
    }
  });

  test("no other YAML or JSON file holds the same data, however it is formatted", () => {
    for (const path of CONFIG_FILES) {
      const [original] = documents(path);
      expect(original).toBeDefined();
      const copies = files.filter(
        (other) => other !== path && documents(other).some((document) => Bun.deepEquals(document, original)),
      );
      expect({ path, copies }).toEqual({ path, copies: [] });
    }
  });

  test("no other file has the same name as a shared file (a copy that has since drifted)", () => {
    for (const path of CONFIG_FILES) {
      const namesakes = files.filter((other) => other !== path && basename(other) === basename(path));
      expect({ path, namesakes }).toEqual({ path, namesakes: [] });
    }
  });

  test("the dashboard's uid appears in exactly one JSON file", () => {
    const uid = text(
      mapping(JSON.parse(read("dashboards/storage-api.json").toString("utf8")), "dashboard").uid,
      "uid",
    );
    expect(uid).toBe("storage-api");
    const holders = files.filter((path) =>
      documents(path).some(
        (document) =>
          path.endsWith(".json") &&
          typeof document === "object" &&
          document !== null &&
          "uid" in document &&
          (document as { uid: unknown }).uid === uid,
      ),
    );
    expect(holders).toEqual(["dashboards/storage-api.json"]);
  });
});

/** Where docker compose puts a repository file inside its container: by a file mount or a folder mount. */
function composePaths(path: string): { service: string; target: string }[] {
  const compose = mapping(parse(read("docker-compose.yml").toString("utf8")), "docker-compose.yml");
  const services = mapping(compose.services, "services");
  return Object.entries(services).flatMap(([service, definition]) =>
    list(mapping(definition, service).volumes ?? [], `${service}.volumes`).flatMap((entry) => {
      const [source = "", target = ""] = text(entry, `${service} volume`).split(":");
      if (!source.startsWith(".") && !source.startsWith("/")) return []; // a named volume
      const inside = relative(normalize(source), path);
      if (inside === "") return [{ service, target }];
      if (inside.startsWith("..") || inside.startsWith("/")) return [];
      return [{ service, target: join(target, inside) }];
    }),
  );
}

/** The kustomizations that generate ConfigMaps, and the repository file behind each ConfigMap key. */
function generatedFiles(): { kustomization: string; name: string; key: string; path: string }[] {
  return files
    .filter((path) => basename(path) === "kustomization.yaml")
    .flatMap((kustomization) => {
      const document = mapping(parse(read(kustomization).toString("utf8")), kustomization);
      expect({ kustomization, secretGenerator: document.secretGenerator }).toEqual({
        kustomization,
        secretGenerator: undefined,
      });
      return list(document.configMapGenerator ?? [], `${kustomization} configMapGenerator`).flatMap(
        (entry) => {
          const generator = mapping(entry, "generator");
          return list(generator.files ?? [], "files").map((file) => {
            const spec = text(file, "file");
            const [key, source] = spec.includes("=") ? spec.split("=") : [basename(spec), spec];
            return {
              kustomization,
              name: text(generator.name, "generator name"),
              key: key ?? "",
              path: normalize(join(dirname(kustomization), source ?? "")),
            };
          });
        },
      );
    });
}

describe("both platforms read the one copy", () => {
  test("compose mounts every shared file, and of the two Prometheus configs only its own", () => {
    for (const path of [...SHARED, COMPOSE_ONLY]) {
      expect({ path, mounted: composePaths(path).length }).toEqual({ path, mounted: 1 });
    }
    expect(composePaths(KUBERNETES_ONLY)).toEqual([]);
  });

  test("the kustomizations generate the ConfigMaps from exactly the shared files, nothing else", () => {
    const generated = generatedFiles();
    expect(generated.map((entry) => entry.path).sort()).toEqual([...SHARED, KUBERNETES_ONLY].sort());
    // Only the three small kustomizations beside the files generate anything; k8s/ only lists them.
    expect([...new Set(generated.map((entry) => entry.kustomization))].sort()).toEqual([
      "dashboards/kustomization.yaml",
      "grafana/kustomization.yaml",
      "prometheus/kustomization.yaml",
    ]);
  });
});

describeWithKubectl()("compose and Kubernetes agree on container paths", () => {
  /** Where the rendered Kubernetes stack puts a repository file: ConfigMap key under its volume's mountPath. */
  function kubernetesPaths(path: string): { workload: string; target: string }[] {
    const objects = render("k8s");
    const content = read(path).toString("utf8");
    const entries = generatedFiles().filter((entry) => entry.path === path);
    return entries.flatMap((entry) => {
      const configMap = ofKind(objects, "ConfigMap").find(
        (candidate) =>
          candidate.metadata.name.startsWith(`${entry.name}-`) &&
          mapping(candidate.data, "data")[entry.key] === content,
      );
      if (!configMap) return [];
      return workloads(objects).flatMap(({ name, pod, containers }) => {
        const volumes = list(pod.volumes ?? [], "volumes")
          .map((volume) => mapping(volume, "volume"))
          .filter((volume) => mapping(volume.configMap ?? {}, "configMap").name === configMap.metadata.name)
          .map((volume) => volume.name);
        return containers.flatMap((container) =>
          list(container.volumeMounts ?? [], "volumeMounts")
            .map((mount) => mapping(mount, "mount"))
            .filter((mount) => volumes.includes(mount.name))
            .map((mount) => ({
              workload: name,
              target: join(text(mount.mountPath, "mountPath"), entry.key),
            })),
        );
      });
    });
  }

  test("each shared file lands at the same path in the compose container and in the pod", () => {
    for (const path of SHARED) {
      const compose = composePaths(path).map((mount) => mount.target);
      const kubernetes = kubernetesPaths(path).map((mount) => mount.target);
      expect({ path, kubernetes }).toEqual({ path, kubernetes: compose });
    }
  });

  test("the two Prometheus configs land at the one path Prometheus is started with", () => {
    const [compose] = composePaths(COMPOSE_ONLY);
    const [kubernetes] = kubernetesPaths(KUBERNETES_ONLY);
    expect(compose?.target).toBe("/etc/prometheus/prometheus.yml");
    expect(kubernetes?.target).toBe("/etc/prometheus/prometheus.yml");
  });
});
