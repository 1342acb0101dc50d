/**
 * Renders the kustomizations under k8s/ with `kubectl kustomize` (the renderer behind `kubectl apply -k`
 * and Tilt's kustomize()) and gives the tests the objects, plus small typed accessors for the parts they
 * check. Without kubectl the manifest tests cannot run: in CI that is a failure, elsewhere a loud skip.
 */
import { describe, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { KUBECTL, skipWithout } from "./prerequisites";
import { list, type Mapping, mapping, root, text } from "./repo";

// The shared narrowing helpers, re-exported so the manifest tests import from one place.
export { list, type Mapping, mapping, root, text } from "./repo";

export interface K8sObject extends Mapping {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Mapping;
}

/**
 * `describe` when kubectl is installed. Without it: in CI (CI=true) a failing test says why, elsewhere
 * `describe.skip` (the preload names the missing tool), so a laptop without kubectl runs the rest.
 */
export function describeWithKubectl(): typeof describe {
  if (KUBECTL) return describe;
  if (!skipWithout(KUBECTL)) {
    test("kubectl is installed (needed to render k8s/)", () => {
      throw new Error("kubectl not found in PATH: the Kubernetes manifest tests cannot run");
    });
  }
  return describe.skip;
}

const renders = new Map<string, K8sObject[]>();

/** Every object `kubectl kustomize <dir>` prints, in order; cached per directory. */
export function render(dir: string): K8sObject[] {
  const cached = renders.get(dir);
  if (cached) return cached;
  const result = spawnSync(KUBECTL ?? "kubectl", ["kustomize", dir], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  const objects = parseAllDocuments(result.stdout).map((document, index) => {
    if (document.errors.length > 0) throw new Error(`document ${index}: ${document.errors[0]?.message}`);
    const object = mapping(document.toJS(), `document ${index}`);
    text(object.apiVersion, `document ${index}: apiVersion`);
    text(object.kind, `document ${index}: kind`);
    text(mapping(object.metadata, `document ${index}: metadata`).name, `document ${index}: metadata.name`);
    return object as K8sObject;
  });
  renders.set(dir, objects);
  return objects;
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the render`);
  return found;
}

export interface Workload {
  name: string;
  deployment: K8sObject;
  spec: Mapping;
  podLabels: Record<string, string>;
  pod: Mapping;
  containers: Mapping[];
}

/** The Deployments of a render, with their pod template unpacked. */
export function workloads(objects: K8sObject[]): Workload[] {
  return ofKind(objects, "Deployment").map((deployment) => {
    const name = deployment.metadata.name;
    const spec = mapping(deployment.spec, `${name}.spec`);
    const template = mapping(spec.template, `${name}.spec.template`);
    const metadata = mapping(template.metadata, `${name} pod metadata`);
    const pod = mapping(template.spec, `${name} pod spec`);
    const containers = [
      ...list(pod.initContainers ?? [], `${name} initContainers`),
      ...list(pod.containers, `${name} containers`),
    ].map((container, index) => mapping(container, `${name} container ${index}`));
    const podLabels = mapping(metadata.labels, `${name} pod labels`) as Record<string, string>;
    return { name, deployment, spec, podLabels, pod, containers };
  });
}

export function workload(objects: K8sObject[], name: string): Workload {
  const found = workloads(objects).find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no Deployment ${name} in the render`);
  return found;
}

/** A container's environment as a plain object; a variable without a literal value (valueFrom) is an error. */
export function containerEnv(container: Mapping | undefined, what: string): Record<string, string> {
  return Object.fromEntries(
    list(container?.env ?? [], `${what} env`).map((entry) => {
      const variable = mapping(entry, `${what} env entry`);
      return [text(variable.name, "env name"), text(variable.value, `${what} ${variable.name} value`)];
    }),
  );
}

/** Whether a label selector ({matchLabels}, {} = everything) selects these labels; matchExpressions are refused. */
export function selects(selector: unknown, labels: Record<string, string>, what: string): boolean {
  const { matchLabels = {}, ...rest } = mapping(selector, what);
  if (Object.keys(rest).length > 0) throw new Error(`${what}: only matchLabels is understood here`);
  return Object.entries(mapping(matchLabels, `${what}.matchLabels`)).every(
    ([key, value]) => labels[key] === value,
  );
}

/** Kubernetes quantities in the forms these manifests use: "512Mi", "1Gi", "100m", "1", "0.5". */
export function quantity(value: unknown): number {
  const raw = String(value);
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(raw);
  if (!match?.[1]) throw new Error(`not a Kubernetes quantity: ${raw}`);
  const factors: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return Number(match[1]) * (factors[match[2] ?? ""] ?? Number.NaN);
}

/** "repo:tag" -> [repo, tag]; a registry port (host:5000/repo) is not mistaken for a tag. */
export function splitImage(reference: string): [string, string | undefined] {
  const slash = reference.lastIndexOf("/");
  const colon = reference.lastIndexOf(":");
  if (colon <= slash) return [reference, undefined];
  return [reference.slice(0, colon), reference.slice(colon + 1)];
}

/**
 * Runs `bash ...args` from the repository root with the stand-in commands in `bin` first on PATH and a
 * fresh FAKE_DIR, where the stand-ins record what they saw; returns the files they left there.
 */
export function runWithStandIns(bin: string, args: string[], env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "stand-ins-"));
  try {
    const result = spawnSync("bash", args, {
      cwd: root,
      encoding: "utf8",
      timeout: 10_000,
      env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, FAKE_DIR: dir },
    });
    const files = Object.fromEntries(
      readdirSync(dir).map((name) => [name, readFileSync(join(dir, name), "utf8")]),
    );
    return {
      status: result.status,
      stderr: result.stderr,
      files: files as Record<string, string | undefined>,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
