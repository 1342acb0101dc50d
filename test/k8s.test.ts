/**
 * The Kubernetes manifests as the cluster would receive them: `kubectl kustomize k8s` (plain deployment)
 * and `kubectl kustomize k8s/dev` (what Tilt applies). Every object is validated against the Kubernetes
 * OpenAPI schema (kubernetes-models), then checked for what the stack promises: the "restricted" Pod
 * Security profile, probes and resources everywhere, one API replica, least-privilege RBAC, pinned images,
 * and ConfigMaps that carry the shared config files byte for byte.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import { type INetworkPolicy, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  type IRole,
  type IRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import {
  ConfigMap,
  type IConfigMap,
  type INamespace,
  type ISecret,
  type IService,
  type IServiceAccount,
  Namespace,
  Secret,
  Service,
  ServiceAccount,
} from "kubernetes-models/v1";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { parseDockerfile } from "./support/dockerfile";
import {
  containerEnv,
  describeWithKubectl,
  type K8sObject,
  list,
  type Mapping,
  mapping,
  named,
  ofKind,
  quantity,
  render,
  root,
  runWithStandIns,
  selects,
  splitImage,
  text,
  type Workload,
  workload,
  workloads,
} from "./support/k8s";

const read = (path: string) => readFileSync(join(root, path), "utf8");
const packageJson = mapping(JSON.parse(read("package.json")), "package.json");

const NAMESPACE = "storage-api";
/** What a stop needs beyond the server's own drain and shutdown timeout: the process' exit, signal delivery. */
const STOP_MARGIN_MS = 2000;
/** The UIDs the third-party images are built to run as: prom/prometheus' nobody, grafana/grafana's grafana. */
const RUN_AS: Record<string, number> = { prometheus: 65534, grafana: 472 };

type Validatable = { validate(): void };
const models = new Map<string, (object: unknown) => Validatable>([
  ["v1/Namespace", (object) => new Namespace(object as INamespace)],
  ["v1/ServiceAccount", (object) => new ServiceAccount(object as IServiceAccount)],
  ["v1/ConfigMap", (object) => new ConfigMap(object as IConfigMap)],
  ["v1/Secret", (object) => new Secret(object as ISecret)],
  ["v1/Service", (object) => new Service(object as IService)],
  ["apps/v1/Deployment", (object) => new Deployment(object as IDeployment)],
  ["rbac.authorization.k8s.io/v1/Role", (object) => new Role(object as IRole)],
  ["rbac.authorization.k8s.io/v1/RoleBinding", (object) => new RoleBinding(object as IRoleBinding)],
  ["networking.k8s.io/v1/NetworkPolicy", (object) => new NetworkPolicy(object as INetworkPolicy)],
]);

/** Throws unless the object's kind is known here and the object matches its OpenAPI schema. */
function validate(object: K8sObject): void {
  const model = models.get(`${object.apiVersion}/${object.kind}`);
  if (!model) throw new Error(`no schema for ${object.apiVersion} ${object.kind} ${object.metadata.name}`);
  model(object).validate();
}

const securityContext = (value: unknown, what: string) => mapping(value ?? {}, `${what}.securityContext`);

/** Prometheus relabel regexes are anchored at both ends. */
const matchesRelabel = (regex: string, value: string) => new RegExp(`^(?:${regex})$`).test(value);

const describeK8s = describeWithKubectl();

for (const dir of ["k8s", "k8s/dev"]) {
  describeK8s(`kubectl kustomize ${dir}`, () => {
    const objects = () => render(dir);
    const deployments = () => workloads(objects());

    test("renders only kinds with a known schema, and every object is valid against it", () => {
      expect(objects().length).toBeGreaterThan(0);
      for (const object of objects()) {
        expect(() => validate(object)).not.toThrow();
      }
    });

    test("puts every namespaced object in storage-api and labels everything part-of storage-api", () => {
      for (const object of objects()) {
        const id = `${object.kind}/${object.metadata.name}`;
        const expected = object.kind === "Namespace" ? undefined : NAMESPACE;
        expect({ id, namespace: object.metadata.namespace }).toEqual({ id, namespace: expected });
        expect({ id, partOf: object.metadata.labels?.["app.kubernetes.io/part-of"] }).toEqual({
          id,
          partOf: "storage-api",
        });
      }
    });

    test("keeps the common label out of every selector (Deployment selectors are immutable)", () => {
      for (const { name, spec } of deployments()) {
        const selector = mapping(mapping(spec.selector, `${name}.selector`).matchLabels, "matchLabels");
        expect({ name, selector }).toEqual({ name, selector: { "app.kubernetes.io/name": name } });
      }
      for (const service of ofKind(objects(), "Service")) {
        const selector = mapping(mapping(service.spec, "spec").selector, "selector");
        expect(Object.keys(selector)).toEqual(["app.kubernetes.io/name"]);
      }
    });

    test("labels the namespace to enforce, warn and audit the restricted Pod Security profile", () => {
      const labels = named(objects(), "Namespace", NAMESPACE).metadata.labels ?? {};
      for (const mode of ["enforce", "warn", "audit"]) {
        expect({ mode, level: labels[`pod-security.kubernetes.io/${mode}`] }).toEqual({
          mode,
          level: "restricted",
        });
        expect({ mode, version: labels[`pod-security.kubernetes.io/${mode}-version`] }).toEqual({
          mode,
          version: expect.stringMatching(/^(latest|v1\.\d+)$/),
        });
      }
    });

    test("enforces the Pod Security rules of the Kubernetes release scripts/kind-up.sh pins", () => {
      const labels = named(objects(), "Namespace", NAMESPACE).metadata.labels ?? {};
      const node = /kindest\/node:(v\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}/.exec(read("scripts/kind-up.sh"));
      expect(node?.[1]).toBeDefined();
      expect(labels["pod-security.kubernetes.io/enforce-version"]).toBe(node?.[1]);
    });

    test("runs every pod as a numeric non-root user with the RuntimeDefault seccomp profile", () => {
      for (const { name, pod } of deployments()) {
        const context = securityContext(pod.securityContext, name);
        expect({ name, runAsNonRoot: context.runAsNonRoot }).toEqual({ name, runAsNonRoot: true });
        for (const field of ["runAsUser", "runAsGroup"]) {
          expect({ name, field, id: context[field] }).toEqual({ name, field, id: expect.any(Number) });
          expect(context[field]).toBeGreaterThan(0);
        }
        expect({ name, seccomp: context.seccompProfile }).toEqual({
          name,
          seccomp: { type: "RuntimeDefault" },
        });
        for (const forbidden of ["hostNetwork", "hostPID", "hostIPC"]) {
          expect({ name, forbidden, value: pod[forbidden] }).toEqual({ name, forbidden, value: undefined });
        }
      }
    });

    test("runs each image as the user it is built for", () => {
      for (const { name, pod } of deployments()) {
        // The API runs as the USER of the Dockerfile stage the manifest runs: dev under Tilt, else production.
        const expected =
          name === "storage-api" ? stageUid(dir === "k8s/dev" ? "dev" : "production") : RUN_AS[name];
        const context = securityContext(pod.securityContext, name);
        expect({ name, runAsUser: context.runAsUser, runAsGroup: context.runAsGroup }).toEqual({
          name,
          runAsUser: expected,
          runAsGroup: expected,
        });
      }
    });

    test("drops every capability and forbids privilege escalation in every container", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const id = `${name}/${container.name}`;
          const context = securityContext(container.securityContext, id);
          expect({ id, escalation: context.allowPrivilegeEscalation }).toEqual({ id, escalation: false });
          expect({ id, capabilities: context.capabilities }).toEqual({ id, capabilities: { drop: ["ALL"] } });
          expect({ id, privileged: context.privileged }).toEqual({ id, privileged: undefined });
          // Container-level overrides of the pod's identity would bypass the checks above.
          for (const field of ["runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"]) {
            expect({ id, field, value: context[field] }).toEqual({ id, field, value: undefined });
          }
        }
      }
    });

    test("uses only volume types the restricted profile allows, and no host ports", () => {
      const allowed = [
        "configMap",
        "emptyDir",
        "secret",
        "projected",
        "downwardAPI",
        "persistentVolumeClaim",
      ];
      for (const { name, pod, containers } of deployments()) {
        for (const volume of list(pod.volumes ?? [], `${name}.volumes`).map((entry) =>
          mapping(entry, "volume"),
        )) {
          const types = Object.keys(volume).filter((key) => key !== "name");
          const permitted = types.length === 1 && allowed.includes(types[0] ?? "");
          expect({ name, volume: volume.name, types, permitted }).toEqual({
            name,
            volume: volume.name,
            types,
            permitted: true,
          });
        }
        for (const container of containers) {
          for (const port of list(container.ports ?? [], "ports").map((entry) => mapping(entry, "port"))) {
            expect({ name, hostPort: port.hostPort }).toEqual({ name, hostPort: undefined });
          }
        }
      }
    });

    test("gives every container a read-only root filesystem (the dev API excepted, for Tilt's sync)", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const id = `${name}/${container.name}`;
          const expected = !(dir === "k8s/dev" && name === "storage-api");
          const context = securityContext(container.securityContext, id);
          expect({ id, readOnly: context.readOnlyRootFilesystem }).toEqual({ id, readOnly: expected });
        }
      }
    });

    test("gives every container readiness and liveness probes on a declared port", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const id = `${name}/${container.name}`;
          const ports = list(container.ports ?? [], `${id}.ports`).map((port) => mapping(port, "port"));
          const portNames = ports.map((port) => port.name);
          for (const probe of ["readinessProbe", "livenessProbe"]) {
            const httpGet = mapping(
              mapping(container[probe], `${id}.${probe}`).httpGet,
              `${id}.${probe}.httpGet`,
            );
            expect({ id, probe, path: httpGet.path }).toEqual({
              id,
              probe,
              path: expect.stringMatching(/^\//),
            });
            expect({ id, probe, port: portNames.includes(httpGet.port) }).toEqual({ id, probe, port: true });
          }
        }
      }
    });

    test("makes liveness less eager than readiness: a restart costs more than a pause in traffic", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const id = `${name}/${container.name}`;
          const window = (probe: string) => {
            const spec = mapping(container[probe], `${id}.${probe}`);
            return Number(spec.periodSeconds ?? 10) * Number(spec.failureThreshold ?? 3);
          };
          expect({ id, moreTolerant: window("livenessProbe") > window("readinessProbe") }).toEqual({
            id,
            moreTolerant: true,
          });
        }
      }
    });

    test("sets cpu and memory requests and limits on every container, requests within limits", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const id = `${name}/${container.name}`;
          const resources = mapping(container.resources, `${id}.resources`);
          const requests = mapping(resources.requests, `${id}.requests`);
          const limits = mapping(resources.limits, `${id}.limits`);
          for (const resource of ["cpu", "memory"]) {
            expect(quantity(requests[resource])).toBeGreaterThan(0);
            expect({
              id,
              resource,
              fits: quantity(requests[resource]) <= quantity(limits[resource]),
            }).toEqual({
              id,
              resource,
              fits: true,
            });
          }
        }
      }
    });

    test("pins every image: a tag, never latest; third-party images to an exact x.y.z release", () => {
      for (const { name, containers } of deployments()) {
        for (const container of containers) {
          const [repository, tag] = splitImage(text(container.image, `${name}.image`));
          expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^v?\d+\.\d+\.\d+$/) });
          expect(repository).not.toBe("");
        }
      }
    });

    test("runs the API image the Tiltfile builds, tagged with package.json's version", () => {
      const [api] = workload(objects(), "storage-api").containers;
      expect(api?.image).toBe(`${packageJson.name}:${packageJson.version}`);
      // Only ever `kind load`-ed into the node, never pulled.
      expect(api?.imagePullPolicy).toBe("Never");
    });

    test("runs one API replica with the Recreate strategy (the store is process memory)", () => {
      const { spec } = workload(objects(), "storage-api");
      expect(spec.replicas).toBe(1);
      expect(spec.strategy).toEqual({ type: "Recreate" });
    });

    test("configures the API with a valid environment that listens on the container port", () => {
      const [api] = workload(objects(), "storage-api").containers;
      const env = containerEnv(api, "storage-api");
      // The server's own parser: a typo in the manifest would stop the process at start-up.
      const config = loadConfig(env);
      const ports = list(api?.ports, "ports").map((port) => mapping(port, "port"));
      expect(ports).toEqual([{ name: "http", containerPort: config.port }]);
      for (const name of [
        "PORT",
        "MAX_STORE_BYTES",
        "MAX_BODY_BYTES",
        "SHUTDOWN_TIMEOUT_MS",
        "DRAIN_DELAY_MS",
      ]) {
        expect({ name, set: name in env }).toEqual({ name, set: true });
      }
    });

    test("gives the API a terminationGracePeriodSeconds that covers its drain delay and shutdown timeout", () => {
      const { pod, containers } = workload(objects(), "storage-api");
      const config = loadConfig(containerEnv(containers[0], "storage-api"));
      // A drain at all: without it the listener stops while kube-proxy still routes to the pod.
      expect(config.drainDelayMs).toBeGreaterThan(0);
      const graceMs = Number(pod.terminationGracePeriodSeconds) * 1000;
      expect(graceMs).toBeGreaterThanOrEqual(config.drainDelayMs + config.shutdownTimeoutMs + STOP_MARGIN_MS);
    });

    test("sizes the API's memory by memoryLimitBytes() of its own environment, and requests all of it", () => {
      const [api] = workload(objects(), "storage-api").containers;
      const resources = mapping(api?.resources, "resources");
      const limit = quantity(mapping(resources.limits, "limits").memory);
      expect(limit).toBe(memoryLimitBytes(loadConfig(containerEnv(api, "storage-api"))));
      // Request = limit, so eviction under node memory pressure never picks the pod that holds the data.
      expect(quantity(mapping(resources.requests, "requests").memory)).toBe(limit);
    });

    test("gives every workload its own ServiceAccount and mounts a token only into Prometheus", () => {
      const accounts = ofKind(objects(), "ServiceAccount");
      const mounted: string[] = [];
      for (const { name, pod } of deployments()) {
        expect({ name, account: pod.serviceAccountName }).toEqual({ name, account: name });
        const account = named(accounts, "ServiceAccount", name);
        // The pod's setting wins over the ServiceAccount's; Kubernetes' default is to mount.
        const automount = pod.automountServiceAccountToken ?? account.automountServiceAccountToken ?? true;
        if (automount) mounted.push(name);
        // Nothing mounts a token by hand either.
        const volumes = list(pod.volumes ?? [], "volumes").map((volume) => mapping(volume, "volume"));
        expect({ name, projected: volumes.filter((volume) => "projected" in volume) }).toEqual({
          name,
          projected: [],
        });
      }
      expect(mounted).toEqual(["prometheus"]);
    });

    test("grants Prometheus read-only access to pods in its own namespace, nothing cluster-wide", () => {
      expect(ofKind(objects(), "ClusterRole")).toEqual([]);
      expect(ofKind(objects(), "ClusterRoleBinding")).toEqual([]);
      const roles = ofKind(objects(), "Role");
      expect(roles.map((role) => role.metadata.name)).toEqual(["prometheus"]);
      const rules = list(roles[0]?.rules, "rules").map((rule) => mapping(rule, "rule"));
      expect(rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
      const bindings = ofKind(objects(), "RoleBinding");
      expect(bindings.map((binding) => ({ roleRef: binding.roleRef, subjects: binding.subjects }))).toEqual([
        {
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "prometheus" },
          subjects: [{ kind: "ServiceAccount", name: "prometheus", namespace: NAMESPACE }],
        },
      ]);
    });

    test("selects each Service's pods and targets a port those pods declare", () => {
      const expectedPorts: Record<string, number> = { "storage-api": 5000, prometheus: 9090, grafana: 3000 };
      const services = ofKind(objects(), "Service");
      expect(services.map((service) => service.metadata.name).sort()).toEqual(
        Object.keys(expectedPorts).sort(),
      );
      for (const service of services) {
        const name = service.metadata.name;
        const spec = mapping(service.spec, `${name}.spec`);
        const selector = mapping(spec.selector, `${name}.selector`);
        const targets = deployments().filter((candidate) =>
          Object.entries(selector).every(([key, value]) => candidate.podLabels[key] === value),
        );
        expect({ name, targets: targets.map((target) => target.name) }).toEqual({ name, targets: [name] });
        const ports = list(spec.ports, `${name}.ports`).map((port) => mapping(port, "port"));
        const declared = (targets[0]?.containers ?? []).flatMap((container) =>
          list(container.ports ?? [], "ports").map((port) => mapping(port, "port")),
        );
        expect(ports.map((port) => port.port)).toEqual([expectedPorts[name]]);
        for (const port of ports) {
          const target = declared.find((candidate) => candidate.name === port.targetPort);
          expect({ name, targetPort: target?.containerPort }).toEqual({
            name,
            targetPort: expectedPorts[name],
          });
        }
      }
    });

    const policies = () =>
      ofKind(objects(), "NetworkPolicy").map((policy) => ({
        name: policy.metadata.name,
        spec: mapping(policy.spec, `${policy.metadata.name}.spec`),
      }));
    /** policyTypes as the API server defaults it: Ingress, plus Egress when egress rules are given. */
    const typesOf = (spec: Mapping) =>
      list(spec.policyTypes ?? ["Ingress", ...(spec.egress ? ["Egress"] : [])], "policyTypes");
    const podsSelectedBy = (selector: unknown, what: string) =>
      deployments()
        .filter((candidate) => selects(selector, candidate.podLabels, what))
        .map((candidate) => candidate.name);

    test("denies all ingress by default: one policy selects every pod, for Ingress only, with no rules", () => {
      const denyAll = policies().filter(
        ({ spec }) =>
          Object.keys(mapping(spec.podSelector, "podSelector")).length === 0 &&
          list(spec.ingress ?? [], "ingress").length === 0,
      );
      expect(denyAll.map(({ spec }) => spec)).toEqual([{ podSelector: {}, policyTypes: ["Ingress"] }]);
    });

    test("admits only Prometheus to the API on 5000 and Grafana to Prometheus on 9090, and limits no egress", () => {
      const admitted = Object.fromEntries(
        deployments().map((target) => {
          const isolating = policies().filter(
            ({ name, spec }) =>
              typesOf(spec).includes("Ingress") &&
              selects(spec.podSelector, target.podLabels, `${name}.podSelector`),
          );
          // A pod no Ingress policy selects accepts everything.
          if (isolating.length === 0) return [target.name, ["* -> *"]];
          const declared = target.containers.flatMap((container) =>
            list(container.ports ?? [], "ports").map((port) => mapping(port, "port")),
          );
          const flows = isolating.flatMap(({ name, spec }) =>
            list(spec.ingress ?? [], `${name}.ingress`).flatMap((entry) => {
              const rule = mapping(entry, `${name} rule`);
              const from = list(rule.from ?? [], `${name} from`).map((peer) => mapping(peer, `${name} peer`));
              // Another namespace or an IP block is printed as written, so the comparison below fails on it.
              const sources =
                from.length === 0
                  ? ["*"]
                  : from.flatMap((peer) =>
                      Object.keys(peer).join() === "podSelector"
                        ? podsSelectedBy(peer.podSelector, `${name} peer`)
                        : [JSON.stringify(peer)],
                    );
              const ports = list(rule.ports ?? [], `${name} ports`).map((entry) => {
                const port = mapping(entry, `${name} port`);
                const number =
                  typeof port.port === "string"
                    ? declared.find((candidate) => candidate.name === port.port)?.containerPort
                    : (port.port ?? "*");
                return `${port.protocol ?? "TCP"}/${number}${port.endPort ? `-${port.endPort}` : ""}`;
              });
              return sources.flatMap((source) =>
                (ports.length === 0 ? ["*"] : ports).map((port) => `${source} -> ${port}`),
              );
            }),
          );
          return [target.name, flows.sort()];
        }),
      );
      expect(admitted).toEqual({
        "storage-api": ["prometheus -> TCP/5000"],
        prometheus: ["grafana -> TCP/9090"],
        grafana: [],
      });
      // Prometheus must keep reaching the API server, and every pod DNS.
      for (const { name, spec } of policies()) {
        expect({ name, egress: typesOf(spec).includes("Egress") }).toEqual({
          name,
          egress: false,
        });
      }
    });

    test("selects rendered pods with every policy and every peer, so a renamed label fails here", () => {
      expect(policies().length).toBeGreaterThan(0);
      for (const { name, spec } of policies()) {
        expect({ name, pods: podsSelectedBy(spec.podSelector, `${name}.podSelector`).length > 0 }).toEqual({
          name,
          pods: true,
        });
        for (const entry of list(spec.ingress ?? [], `${name}.ingress`)) {
          for (const peer of list(mapping(entry, "rule").from ?? [], `${name} from`)) {
            const selector = mapping(peer, "peer").podSelector;
            if (selector === undefined) continue;
            expect({ name, peer: podsSelectedBy(selector, `${name} peer`).length > 0 }).toEqual({
              name,
              peer: true,
            });
          }
        }
      }
    });

    test("lets Prometheus' pod discovery find the API pods, and only them, on their http port", () => {
      const config = mapping(
        parse(read("prometheus/prometheus.kubernetes.yml")),
        "prometheus.kubernetes.yml",
      );
      const job = list(config.scrape_configs, "scrape_configs")
        .map((entry) => mapping(entry, "scrape config"))
        .find((entry) => entry.job_name === "storage_api");
      const keep = list(job?.relabel_configs, "relabel_configs")
        .map((rule) => mapping(rule, "rule"))
        .filter((rule) => rule.action === "keep");
      const regexFor = (label: string) =>
        text(
          keep.find((rule) => list(rule.source_labels, "source_labels").join() === label)?.regex,
          `keep rule on ${label}`,
        );
      const nameRegex = regexFor("__meta_kubernetes_pod_label_app_kubernetes_io_name");
      const portRegex = regexFor("__meta_kubernetes_pod_container_port_name");
      const found = deployments().filter((candidate) =>
        matchesRelabel(nameRegex, candidate.podLabels["app.kubernetes.io/name"] ?? ""),
      );
      expect(found.map((candidate) => candidate.name)).toEqual(["storage-api"]);
      const portNames = (found[0]?.containers ?? []).flatMap((container) =>
        list(container.ports ?? [], "ports").map((port) => text(mapping(port, "port").name, "port name")),
      );
      expect(portNames.filter((port) => matchesRelabel(portRegex, port))).toEqual(["http"]);
    });

    test("generates the ConfigMaps from the shared files, byte for byte, with a content hash", () => {
      const expected: Record<string, Record<string, string>> = {
        "prometheus-config": {
          "prometheus.yml": "prometheus/prometheus.kubernetes.yml",
          "alerts.yml": "prometheus/alerts.yml",
        },
        "grafana-datasources": { "prometheus.yml": "grafana/provisioning/datasources/prometheus.yml" },
        "grafana-dashboard-provider": {
          "storage-api.yml": "grafana/provisioning/dashboards/storage-api.yml",
        },
        "grafana-dashboards": { "storage-api.json": "dashboards/storage-api.json" },
      };
      const configMaps = ofKind(objects(), "ConfigMap");
      expect(configMaps.length).toBe(Object.keys(expected).length);
      for (const [base, files] of Object.entries(expected)) {
        const matching = configMaps.filter((configMap) =>
          new RegExp(`^${base}-[a-z0-9]{10}$`).test(configMap.metadata.name),
        );
        expect({ base, count: matching.length }).toEqual({ base, count: 1 });
        const data = mapping(matching[0]?.data, `${base}.data`);
        expect(Object.keys(data).sort()).toEqual(Object.keys(files).sort());
        for (const [key, path] of Object.entries(files)) {
          expect({ key, same: data[key] === read(path) }).toEqual({ key, same: true });
        }
      }
    });

    test("mounts only ConfigMaps that exist in the render, through volumes the pod declares", () => {
      const configMaps = new Set(ofKind(objects(), "ConfigMap").map((configMap) => configMap.metadata.name));
      for (const { name, pod, containers } of deployments()) {
        for (const volume of list(pod.volumes ?? [], "volumes").map((entry) => mapping(entry, "volume"))) {
          if (!("configMap" in volume)) continue;
          const reference = text(mapping(volume.configMap, "configMap").name, "configMap.name");
          expect({ name, reference, exists: configMaps.has(reference) }).toEqual({
            name,
            reference,
            exists: true,
          });
        }
        for (const container of containers) {
          const volumeNames = list(pod.volumes ?? [], "volumes").map(
            (entry) => mapping(entry, "volume").name,
          );
          for (const mount of list(container.volumeMounts ?? [], "volumeMounts").map((m) =>
            mapping(m, "mount"),
          )) {
            expect({ name, mount: mount.name, declared: volumeNames.includes(mount.name) }).toEqual({
              name,
              mount: mount.name,
              declared: true,
            });
          }
        }
      }
    });

    test("mounts each config file where the process reads it, and gives writable paths an emptyDir", () => {
      const mountsOf = (item: Workload) => {
        const volumes = new Map(
          list(item.pod.volumes ?? [], "volumes").map((entry) => {
            const volume = mapping(entry, "volume");
            return [volume.name, volume];
          }),
        );
        return list(item.containers[0]?.volumeMounts ?? [], "volumeMounts").map((entry) => {
          const mount = mapping(entry, "mount");
          return {
            path: text(mount.mountPath, "mountPath"),
            volume: mapping(volumes.get(mount.name), "volume"),
          };
        });
      };
      const configMapAt = (item: Workload, path: string) => {
        const found = mountsOf(item).find((mount) => mount.path === path);
        const name = text(mapping(found?.volume.configMap, `configMap at ${path}`).name, "name");
        return mapping(named(objects(), "ConfigMap", name).data, "data");
      };
      const emptyDirAt = (item: Workload, path: string) =>
        mountsOf(item).some((mount) => mount.path === path && "emptyDir" in mount.volume);

      const prometheus = workload(objects(), "prometheus");
      const args = list(prometheus.containers[0]?.args, "prometheus args").map((arg) => text(arg, "arg"));
      expect(args).toContain("--config.file=/etc/prometheus/prometheus.yml");
      expect(args).toContain("--storage.tsdb.path=/prometheus");
      const prometheusConfig = configMapAt(prometheus, "/etc/prometheus");
      const ruleFiles = list(
        mapping(parse(text(prometheusConfig["prometheus.yml"], "prometheus.yml")), "config").rule_files,
        "rule_files",
      );
      for (const ruleFile of ruleFiles.map((file) => text(file, "rule file"))) {
        expect(ruleFile.startsWith("/etc/prometheus/")).toBe(true);
        expect(Object.keys(prometheusConfig)).toContain(ruleFile.slice("/etc/prometheus/".length));
      }
      expect(emptyDirAt(prometheus, "/prometheus")).toBe(true);

      const grafana = workload(objects(), "grafana");
      expect(Object.keys(configMapAt(grafana, "/etc/grafana/provisioning/datasources"))).toEqual([
        "prometheus.yml",
      ]);
      const provider = configMapAt(grafana, "/etc/grafana/provisioning/dashboards");
      const providers = list(
        mapping(parse(text(provider["storage-api.yml"], "provider file")), "provider").providers,
        "providers",
      );
      for (const entry of providers.map((item) => mapping(item, "provider"))) {
        const path = text(mapping(entry.options, "options").path, "options.path");
        expect(Object.keys(configMapAt(grafana, path))).toEqual(["storage-api.json"]);
        // The dashboards mount sits inside Grafana's writable data directory.
        expect(path.startsWith("/var/lib/grafana/")).toBe(true);
      }
      expect(emptyDirAt(grafana, "/var/lib/grafana")).toBe(true);
      expect(emptyDirAt(grafana, "/tmp")).toBe(true);
    });
  });
}

/** The numeric uid a Dockerfile stage runs as (for dev: the owner of /app, which Tilt's sync writes into). */
function stageUid(name: string): number {
  const stage = parseDockerfile(read("Dockerfile")).stages.find((candidate) => candidate.name === name);
  const user = stage?.instructions.filter((instruction) => instruction.keyword === "USER").at(-1)?.args ?? "";
  const uid = /^(\d+)(?::\d+)?$/.exec(user.trim())?.[1];
  if (!uid) throw new Error(`the ${name} stage has no numeric USER (got "${user}")`);
  return Number(uid);
}

describeK8s("k8s/dev overlay", () => {
  /** Every leaf that differs between two objects, as "path: base -> dev". */
  function differences(base: unknown, dev: unknown, path: string): string[] {
    if (typeof base === "object" && base !== null && typeof dev === "object" && dev !== null) {
      const keys = new Set([...Object.keys(base), ...Object.keys(dev)]);
      return [...keys].flatMap((key) =>
        differences((base as Mapping)[key], (dev as Mapping)[key], `${path}.${key}`),
      );
    }
    return base === dev ? [] : [`${path}: ${JSON.stringify(base)} -> ${JSON.stringify(dev)}`];
  }

  test("differs from the base only in the API pod's user and its writable root filesystem", () => {
    const base = render("k8s");
    const dev = render("k8s/dev");
    expect(dev.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual(
      base.map((object) => `${object.kind}/${object.metadata.name}`),
    );
    const uid = stageUid("dev");
    const production = stageUid("production");
    const changed = base.flatMap((object, index) =>
      differences(object, dev[index], `${object.kind}/${object.metadata.name}`),
    );
    const pod = "Deployment/storage-api.spec.template.spec";
    expect(changed.sort()).toEqual(
      [
        `${pod}.containers.0.securityContext.readOnlyRootFilesystem: true -> false`,
        `${pod}.securityContext.fsGroup: ${production} -> ${uid}`,
        `${pod}.securityContext.runAsGroup: ${production} -> ${uid}`,
        `${pod}.securityContext.runAsUser: ${production} -> ${uid}`,
      ].sort(),
    );
  });
});

describeK8s("scripts/ensure-grafana-secret.sh", () => {
  // A stand-in kubectl on PATH: it answers `get` from environment flags, records every command line, and
  // saves what `create -f -` receives on stdin. Nothing reaches a real cluster.
  let bin = "";
  const fakeKubectl = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_DIR/calls"
case "$*" in
  *" get namespace "*) [[ "$FAKE_NAMESPACE" == present ]] ;;
  *" get secret "*) [[ "$FAKE_SECRET" == present ]] || { echo 'Error from server (NotFound)' >&2; exit 1; } ;;
  *" create -f -"*) cat > "$FAKE_DIR/created.yaml" ;;
  *" apply -f "*) exit 0 ;;
  *) echo "unexpected kubectl call: $*" >&2; exit 3 ;;
esac
`;

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), "fake-kubectl-"));
    writeFileSync(join(bin, "kubectl"), fakeKubectl);
    chmodSync(join(bin, "kubectl"), 0o755);
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  function run(namespace: "present" | "absent", secret: "present" | "absent") {
    const args = ["scripts/ensure-grafana-secret.sh", "kind-storage-api"];
    const { status, stderr, files } = runWithStandIns(bin, args, {
      FAKE_NAMESPACE: namespace,
      FAKE_SECRET: secret,
    });
    return { status, stderr, calls: (files.calls ?? "").trim().split("\n"), created: files["created.yaml"] };
  }

  test("creates the Secret the Grafana Deployment reads, with a random password kept off command lines", () => {
    const first = run("present", "absent");
    expect(first.status).toBe(0);
    const documents = parseAllDocuments(first.created ?? "").map((document) => document.toJS() as K8sObject);
    expect(documents.length).toBe(1);
    const secret = documents[0] as K8sObject;
    expect(() => validate(secret)).not.toThrow();
    expect(secret.metadata).toMatchObject({ name: "grafana-admin", namespace: NAMESPACE });
    const data = mapping(secret.stringData, "stringData");

    // Exactly the keys the Deployment's secretKeyRefs name.
    const grafana = workload(render("k8s"), "grafana");
    const references = list(grafana.containers[0]?.env, "grafana env").flatMap((entry) => {
      const from = mapping(entry, "env entry").valueFrom;
      if (from === undefined) return [];
      const reference = mapping(mapping(from, "valueFrom").secretKeyRef, "secretKeyRef");
      return [{ name: reference.name, key: reference.key }];
    });
    expect(references.map((reference) => reference.name)).toEqual(["grafana-admin", "grafana-admin"]);
    expect(Object.keys(data).sort()).toEqual(references.map((reference) => String(reference.key)).sort());

    const password = text(data["admin-password"], "admin-password");
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(first.calls.some((call) => call.includes(password))).toBe(false);
    expect(first.calls.every((call) => call.startsWith("--context kind-storage-api "))).toBe(true);

    // A second Secret gets a different password: it is random, not a constant in the script.
    const second = run("present", "absent");
    const secondSecret = parseAllDocuments(second.created ?? "")[0]?.toJS() as K8sObject;
    expect(mapping(secondSecret.stringData, "stringData")["admin-password"]).not.toBe(password);
  });

  test("leaves an existing Secret alone, so the password stays the same", () => {
    const result = run("present", "present");
    expect(result.status).toBe(0);
    expect(result.created).toBeUndefined();
    expect(result.calls.some((call) => / (create|apply|delete|replace|patch) /.test(` ${call} `))).toBe(
      false,
    );
  });

  test("creates the namespace first, from the manifest that carries its Pod Security labels", () => {
    const result = run("absent", "absent");
    expect(result.status).toBe(0);
    expect(result.calls).toContain(`--context kind-storage-api apply -f ${root}/k8s/base/namespace.yaml`);
    expect(result.created).toBeDefined();
  });

  test("namespace.yaml, which it applies without kustomize, names storage-api on every object in it", () => {
    const documents = parseAllDocuments(read("k8s/base/namespace.yaml")).map(
      (document) => document.toJS() as K8sObject,
    );
    expect(documents.map((object) => object.kind).sort()).toEqual(["Namespace", "NetworkPolicy"]);
    for (const object of documents.filter((candidate) => candidate.kind !== "Namespace")) {
      expect({ name: object.metadata.name, namespace: object.metadata.namespace }).toEqual({
        name: object.metadata.name,
        namespace: NAMESPACE,
      });
    }
  });

  test("does not render the Secret into the manifests: it never lives in the repository", () => {
    for (const dir of ["k8s", "k8s/dev"]) {
      expect(ofKind(render(dir), "Secret")).toEqual([]);
    }
  });
});

describe("scripts/kind-up.sh", () => {
  // Stand-ins for docker, kind and kubectl on PATH: `kind version` prints $FAKE_KIND_VERSION, and every kind
  // call is recorded, so the test sees whether a cluster would have been created.
  let bin = "";
  const fakes: Record<string, string> = {
    docker: "exit 0",
    kubectl: "exit 0",
    kind: `printf '%s\\n' "$*" >> "$FAKE_DIR/kind-calls"
case "$1" in
  version) printf '%s\\n' "$FAKE_KIND_VERSION" ;;
  get) exit 0 ;;
  create) exit 0 ;;
  *) echo "unexpected kind call: $*" >&2; exit 3 ;;
esac`,
  };
  const release = /^readonly kind_release=(v\d+\.\d+)$/m.exec(read("scripts/kind-up.sh"))?.[1] ?? "";

  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), "fake-kind-"));
    for (const [name, body] of Object.entries(fakes)) {
      writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    }
  });
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  function run(kindVersion: string) {
    const { status, stderr, files } = runWithStandIns(bin, ["scripts/kind-up.sh"], {
      FAKE_KIND_VERSION: kindVersion,
    });
    const calls = (files["kind-calls"] ?? "").trim().split("\n");
    return { status, stderr, created: calls.some((call) => call.startsWith("create")) };
  }

  test("checks for the kind release that the node image comment names", () => {
    expect(release).toMatch(/^v\d+\.\d+$/);
    expect(read("scripts/kind-up.sh")).toMatch(
      new RegExp(`# kind ${release.replaceAll(".", "\\.")}\\.\\d+ lists this node image`),
    );
  });

  test("creates the cluster with any patch or pre-release of that kind release", () => {
    for (const version of [
      `kind ${release}.0 go1.25.1 linux/amd64`,
      `kind ${release}.2-alpha.4+0123456789abcd go1.25.1 darwin/arm64`,
    ]) {
      expect({ version, ...run(version) }).toMatchObject({ version, status: 0, created: true });
    }
  });

  test("stops before creating anything, naming both versions, with another minor release or unreadable output", () => {
    const [major, minor] = release.slice(1).split(".").map(Number);
    for (const version of [
      `kind v${major}.${Number(minor) - 1}.0 go1.24.2 linux/amd64`,
      `kind v${major}.${Number(minor) + 1}.0 go1.26.0 linux/amd64`,
      `kind v${major}.${minor}0.0 go1.26.0 linux/amd64`,
      "something else",
    ]) {
      const result = run(version);
      expect({ version, status: result.status, created: result.created }).toEqual({
        version,
        status: 1,
        created: false,
      });
      expect(result.stderr).toContain(`needs kind ${release}.x`);
      expect(result.stderr).toContain(version);
    }
  });
});
