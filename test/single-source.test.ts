/**
 * Each config file exists once. Compose bind-mounts the config folders, every Kubernetes render generates its
 * ConfigMaps from the very same files, and both put each file at the same path in the same container.
 */
import { expect, test } from "bun:test";
import { basename, dirname, join, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { DOCKER_COMPOSE, KUBECTL } from "./support/prerequisites";
import type { Any } from "./support/render";
import * as cfg from "./support/render";
import { read, root } from "./support/repo";

const { generated } = cfg;
/** Every file beside a kustomization that generates config (the two Prometheus flavours, rule tests, ...). */
const configFiles = cfg.repoFiles.filter(
  (path) =>
    generated.some(({ kustomization }) => path.startsWith(`${dirname(kustomization)}/`)) &&
    !path.endsWith("kustomization.yaml"),
);
/** Paths an image needs writable on a read-only root, beyond its --storage flags. */
const WRITES: Record<string, string[]> = { "grafana/grafana": ["/var/lib/grafana", "/tmp"] };

test("no other file in the repository copies a config file: same bytes, same data however formatted, same name or uid", () => {
  const documents = (path: string): Any[] =>
    /\.(ya?ml|json)$/.test(path)
      ? parseAllDocuments(read(path)).flatMap((document) => (document.errors.length ? [] : [document.toJS()]))
      : [];
  for (const path of configFiles) {
    const [data] = documents(path);
    const same = (other: Any) => Bun.deepEquals(other, data) || (data?.uid && other?.uid === data.uid);
    const copies = cfg.repoFiles.filter(
      (other) =>
        other !== path &&
        (read(other) === read(path) || basename(other) === basename(path) || documents(other).some(same)),
    );
    expect({ path, copies }).toEqual({ path, copies: [] });
  }
});

/** Per rendered container: container path -> the config file behind the ConfigMap key mounted there. */
function k8sContainers(dir: string) {
  const configMaps = cfg.ofKind(cfg.render(dir), "ConfigMap");
  return cfg.workloads(cfg.render(dir)).flatMap(({ pod, containers }) =>
    containers.map((container) => {
      const volume = (name: string) => pod.volumes.find((candidate: Any) => candidate.name === name);
      const mounts = (container.volumeMounts ?? []).map((mount: Any) => ({
        ...mount,
        ...volume(mount.name),
      }));
      const files = mounts.flatMap(({ mountPath, subPath, configMap }: Any) => {
        const map = configMaps.find((candidate) => candidate.metadata.name === configMap?.name);
        const sources = generated.filter(
          ({ name, key }) => map?.metadata.name.startsWith(`${name}-`) && (!subPath || key === subPath),
        );
        return sources.map(({ key, file }) => [subPath ? mountPath : join(mountPath, key), file]);
      });
      const writable = mounts
        .filter((mount: Any) => mount.emptyDir || mount.persistentVolumeClaim)
        .map((mount: Any) => mount.mountPath);
      return { name: container.name, container, files: new Map<string, string>(files), writable };
    }),
  );
}

for (const dir of cfg.kustomizations) {
  cfg.describeWith(KUBECTL && DOCKER_COMPOSE, "kubectl and docker-compose")(`${dir}, with compose`, () => {
    test("generates every ConfigMap with a content hash, byte for byte from the config files", () => {
      for (const { metadata, data } of cfg.ofKind(cfg.render(dir), "ConfigMap")) {
        const sources = generated.filter(({ name }) =>
          new RegExp(`^${name}-[a-z0-9]{10}$`).test(metadata.name),
        );
        expect(data).toEqual(Object.fromEntries(sources.map(({ key, file }) => [key, read(file)])));
      }
    });

    test("points every process at files it mounts (--config.file, rule_files, dashboard folders), its data at a volume", () => {
      for (const { name, container, files, writable } of k8sContainers(dir)) {
        const config = (path: string) => (files.has(path) ? parse(read(files.get(path) ?? "")) : {});
        const flag = (pattern: RegExp): string[] =>
          (container.args ?? []).flatMap((arg: string) => pattern.exec(arg)?.[1] ?? []);
        const wanted = flag(/^--config\.file=(.+)$/).flatMap((path) => [
          path,
          ...(config(path).rule_files ?? []),
        ]);
        const folders = [...files.keys()]
          .flatMap((path) => config(path).providers ?? [])
          .map((provider: Any) => provider.options.path);
        const found = (folder: string) => [...files.keys()].some((path) => dirname(path) === folder);
        const missing = [
          ...wanted.filter((path) => !files.has(path)),
          ...folders.filter((folder) => !found(folder)),
        ];
        const needs = container.securityContext?.readOnlyRootFilesystem
          ? WRITES[cfg.splitImage(container.image)[0] ?? ""]
          : [];
        const writes = [...flag(/^--storage\.[\w.]*path=(.+)$/), ...(needs ?? [])];
        expect({ name, missing, unwritable: writes.filter((path) => !writable.includes(path)) }).toEqual({
          name,
          missing: [],
          unwritable: [],
        });
      }
    });

    test("puts each config file at the same path as compose does, in the same container (Prometheus: its own flavour)", () => {
      const services = cfg.composeConfig(["docker-compose.yml"]).services;
      for (const { name, files } of k8sContainers(dir).filter(
        ({ name }) => services[name.replaceAll("-", "_")],
      )) {
        const mounts = (services[name.replaceAll("-", "_")].volumes ?? []).map((volume: string) =>
          volume.split(":"),
        );
        const compose = mounts.flatMap(([source = "", target = ""]: string[]) =>
          configFiles
            .map((file) => [file, relative(relative(root, source), file)])
            .filter(([, inside]) => source.startsWith("/") && !inside?.startsWith(".."))
            .map(([file = "", inside = ""]) => [
              join(target, inside),
              file.replace(".compose.", ".kubernetes."),
            ]),
        );
        expect({ name, files: [...files].sort() }).toEqual({ name, files: compose.sort() });
      }
    });
  });
}
