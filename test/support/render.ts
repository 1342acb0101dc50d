/**
 * The deployable configuration as the real tools render it: every kustomization under k8s/ through
 * `kubectl kustomize`, the compose files through Debian's `docker-compose config` (1.29). Tests assert on
 * these renders, never on hand-read text. A missing tool skips locally and fails with CI set.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { DOCKER_COMPOSE, KUBECTL, skipWithout } from "./prerequisites";
import { type Any, read, root } from "./repo";

export type { Any };

/** `describe` when the tool is installed; otherwise a skip, or with CI set a test that fails saying why. */
export function describeWith(tool: string | null, name: string): typeof describe {
  if (!tool && !skipWithout(tool))
    test(`${name} is installed`, () => expect(`${name} in PATH`).toBe("found"));
  return tool ? describe : describe.skip;
}

/** Fails naming every item the rule does not hold for. */
export const expectAll = <T>(items: T[], id: (item: T) => string, holds: (item: T) => unknown) =>
  expect(items.filter((item) => !holds(item)).map(id)).toEqual([]);

const cache = new Map<string, Any>();
function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}:\n${result.stderr ?? result.error}`);
  return result.stdout;
}
const memo = (key: string, make: () => Any) => cache.get(key) ?? cache.set(key, make()).get(key);

/** Files a commit could carry: tracked, plus untracked ones .gitignore does not exclude, still on disk. */
export const repoFiles = run("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"])
  .split("\0")
  .filter((path) => path && statSync(join(root, path), { throwIfNoEntry: false })?.isFile());

/** Every kustomization root under k8s/ (components are rendered through them): base, overlays, the plain stack. */
export const kustomizations = repoFiles
  .filter((path) => /^k8s\/(.*\/)?kustomization\.yaml$/.test(path) && !/^kind: Component$/m.test(read(path)))
  .map(dirname);

/** What the repository's configMapGenerators read: ConfigMap name, key, file, and whether the key renames it. */
export const generated = repoFiles
  .filter((path) => basename(path) === "kustomization.yaml")
  .flatMap((path) =>
    (parse(read(path)).configMapGenerator ?? []).flatMap(({ name, files }: Any) =>
      files.map((entry: string) => {
        const [key = "", file = key] = entry.split("=");
        const [kustomization, renamed] = [path, entry.includes("=")];
        return { kustomization, name, key: basename(key), file: join(dirname(path), file), renamed };
      }),
    ),
  );

export const render = (dir: string): Any[] =>
  memo(dir, () =>
    parseAllDocuments(run(KUBECTL ?? "kubectl", ["kustomize", dir])).map((document) => document.toJS()),
  );

export const ofKind = (objects: Any[], kind: string): Any[] =>
  objects.filter((object) => object.kind === kind);

/** Deployments and StatefulSets, pod template unpacked, init containers included. */
export type Workload = {
  name: string;
  object: Any;
  pod: Any;
  labels: Record<string, string>;
  containers: Any[];
};
export const workloads = (objects: Any[]): Workload[] =>
  objects
    .filter((object) => ["Deployment", "StatefulSet"].includes(object.kind))
    .map((object) => ({
      name: object.metadata.name,
      object,
      pod: object.spec.template.spec,
      labels: object.spec.template.metadata.labels,
      containers: [
        ...(object.spec.template.spec.initContainers ?? []),
        ...object.spec.template.spec.containers,
      ],
    }));

/** Whether a {matchLabels} selector ({} = everything) selects these labels; matchExpressions are refused. */
export function selects(selector: Any, labels: Record<string, string>): boolean {
  if (selector.matchExpressions) throw new Error("only matchLabels is understood here");
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

const UNITS: Record<string, number> = {
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
};
/** Kubernetes quantities in the forms manifests use: "512Mi", "1Gi", "100m", "1". */
export function quantity(value: unknown): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|Ki|Mi|Gi)?$/.exec(String(value));
  if (!match) throw new Error(`not a Kubernetes quantity: ${value}`);
  return Number(match[1]) * (match[2] ? (UNITS[match[2]] ?? Number.NaN) : 1);
}

/** "repo:tag@digest" -> [repo, tag]; a registry port (host:5000/repo) is not mistaken for a tag. */
export const splitImage = (reference: string) =>
  /^(.+?)(?::([^:/@]+))?(?:@.*)?$/.exec(reference)?.slice(1) ?? [];

/** docker-compose.yml alone, and with each override file beside it. */
export const composeFiles = [["docker-compose.yml"]].concat(
  repoFiles
    .filter((path) => /^(docker-)?compose\.[\w.-]+\.ya?ml$/.test(path))
    .map((file) => ["docker-compose.yml", file]),
);

/** `docker-compose config` of a file set: validated, interpolated, bind-mount sources made absolute. */
export const composeConfig = (files: string[]): Any =>
  memo(files.join(), () =>
    parse(run(DOCKER_COMPOSE ?? "docker-compose", [...files.flatMap((file) => ["-f", file]), "config"])),
  );

export const id = (object: Any) => `${object.kind}/${object.metadata.name}`;

/** Each object checked against its Kubernetes OpenAPI schema (kubernetes-models): the violations found. */
export async function schemaViolations(objects: Any[]): Promise<string[]> {
  const found: string[] = [];
  for (const object of objects) {
    const model = await import(`kubernetes-models/${object.apiVersion}/${object.kind}`).catch(() => ({}));
    try {
      new model[object.kind](object).validate();
    } catch (error) {
      found.push(`${id(object)}: ${error}`);
    }
  }
  return found;
}
