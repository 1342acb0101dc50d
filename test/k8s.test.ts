/**
 * Every kustomization under k8s/ as `kubectl kustomize` renders it, each object validated against its
 * Kubernetes OpenAPI schema (kubernetes-models), then held to what an SRE asks, each rule once over every
 * object it applies to: restricted Pod Security, pinned images, limits, probes, least-privilege RBAC,
 * NetworkPolicies that admit exactly the connections the configuration makes, replicas that fit the store.
 */
import { expect, test } from "bun:test";
import { parse } from "yaml";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { steps } from "./support/dockerfile";
import { KUBECTL } from "./support/prerequisites";
import type { Any, Workload } from "./support/render";
import * as cfg from "./support/render";
import { read } from "./support/repo";

const NAMESPACE = "storage-api";
/** Tilt's overlay: it runs the Dockerfile's dev stage, into which Tilt syncs files. */
const DEV = "k8s/dev";
/** The users third-party images are built to run as (their data folders belong to them). */
const USERS: Record<string, number> = {
  "prom/prometheus": 65534,
  "prom/alertmanager": 65534,
  "grafana/grafana": 472,
};
const pkg = JSON.parse(read("package.json"));
const API_IMAGE = `${pkg.name}:${pkg.version}`;
const stageUser = (stage: string) => Number(steps(stage, "USER").at(-1)?.args[0]?.split(":")[0]);
const envOf = (container: Any) =>
  Object.fromEntries((container.env ?? []).map((v: Any) => [v.name, v.value]));
const ports = (item?: Workload): Any[] =>
  item?.containers.flatMap((container) => container.ports ?? []) ?? [];
/** The containerPort a Service or NetworkPolicy port (number or name) means in these pods. */
const portOf = (item: Workload | undefined, port: unknown) =>
  ports(item).find((candidate) => candidate.name === port || candidate.containerPort === port)?.containerPort;
const id = cfg.id;
const byName = (item: Workload) => item.name;

for (const dir of cfg.kustomizations) {
  cfg.describeWith(KUBECTL, "kubectl")(`kubectl kustomize ${dir}`, () => {
    const objects = () => cfg.render(dir);
    const kind = (name: string) => cfg.ofKind(objects(), name);
    const all = () => cfg.workloads(objects());
    const api = () =>
      all().filter((item) => item.containers.some((container) => container.image === API_IMAGE));
    const selected = (selector: Any) => all().filter((item) => cfg.selects(selector, item.labels));

    test("renders only schema-valid objects, in the storage-api namespace, labelled part-of it, and no Secret", async () => {
      expect(await cfg.schemaViolations(objects())).toEqual([]);
      cfg.expectAll(objects(), id, ({ kind, metadata: { namespace, labels } }) => {
        const placed = namespace === (kind === "Namespace" ? undefined : NAMESPACE);
        return placed && kind !== "Secret" && labels?.["app.kubernetes.io/part-of"] === NAMESPACE;
      });
    });

    test("enforces the restricted Pod Security of the Kubernetes release kind-up.sh pins, warns on the latest", () => {
      const node = /kindest\/node:(v\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}/.exec(read("scripts/kind-up.sh"))?.[1];
      const labels = JSON.stringify(kind("Namespace").map((namespace) => namespace.metadata.labels));
      for (const [mode, version] of Object.entries({ enforce: node, warn: "latest", audit: "latest" })) {
        const label = `"pod-security.kubernetes.io/${mode}`;
        expect(labels).toContain(`${label}":"restricted",${label}-version":"${version}"`);
      }
    });

    test("runs every pod as the non-root uid its image is built for, with RuntimeDefault seccomp, no host namespace", () => {
      cfg.expectAll(all(), byName, ({ pod, containers: [{ image }] }) => {
        const { runAsNonRoot, runAsUser: uid, runAsGroup, seccompProfile } = pod.securityContext ?? {};
        const api = image === API_IMAGE ? stageUser(dir === DEV ? "dev" : "production") : undefined;
        const host = pod.hostNetwork || pod.hostPID || pod.hostIPC;
        const built = uid === (api ?? USERS[cfg.splitImage(image)[0] ?? ""] ?? uid) && uid === runAsGroup;
        return runAsNonRoot && uid > 0 && built && seccompProfile?.type === "RuntimeDefault" && !host;
      });
    });

    test("drops all capabilities, privileges, host ports and volume types the restricted profile forbids", () => {
      const volumes = "configMap emptyDir secret projected downwardAPI persistentVolumeClaim".split(" ");
      const hardened = ({ securityContext, ports = [] }: Any) =>
        Bun.deepEquals(securityContext, {
          ...securityContext,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        }) &&
        Object.keys(securityContext).length === 3 &&
        !ports.some((port: Any) => port.hostPort);
      cfg.expectAll(
        all(),
        byName,
        ({ pod, containers }) =>
          containers.every(hardened) &&
          (pod.volumes ?? []).every((volume: Any) => volumes.some((type) => volume[type])),
      );
    });

    test("runs every container on a read-only root filesystem, but the dev API (Tilt syncs files into it)", () => {
      const readOnly = ({ image, securityContext }: Any) =>
        securityContext.readOnlyRootFilesystem === !(dir === DEV && image === API_IMAGE);
      cfg.expectAll(all(), byName, ({ containers }) => containers.every(readOnly));
    });

    test("pins every image to an x.y.z release, and sets cpu and memory requests within limits on every container", () => {
      const sized = ({ image, resources: { requests = {}, limits = {} } = {} }: Any) =>
        /^v?\d+\.\d+\.\d+$/.test(cfg.splitImage(image)[1] ?? "") &&
        ["cpu", "memory"].every(
          (key) =>
            cfg.quantity(requests[key]) > 0 && cfg.quantity(requests[key]) <= cfg.quantity(limits[key]),
        );
      cfg.expectAll(all(), byName, ({ containers }) => containers.every(sized));
    });

    test("probes readiness and liveness on declared ports, liveness the more patient: a restart costs more", () => {
      const window = (probe: Any) => (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
      cfg.expectAll(all(), byName, (item) =>
        item.pod.containers.every(({ readinessProbe: ready, livenessProbe: live }: Any) => {
          const declared = (probe: Any) => {
            const action = probe?.httpGet ?? probe?.tcpSocket ?? probe?.grpc;
            return action ? portOf(item, action.port) && (action.path ?? "/").startsWith("/") : probe?.exec;
          };
          return declared(ready) && declared(live) && window(live) > window(ready);
        }),
      );
    });

    test("runs each workload as its own ServiceAccount, with a token only where a RoleBinding grants one", () => {
      cfg.expectAll(all(), byName, ({ name, pod }) => {
        const account = kind("ServiceAccount").find((candidate) => candidate.metadata.name === name);
        const granted = kind("RoleBinding").some(({ subjects }) =>
          subjects.some((s: Any) => s.name === name),
        );
        const token = pod.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true;
        const projected = pod.volumes?.some((volume: Any) => volume.projected);
        return pod.serviceAccountName === name && account && token === granted && !projected;
      });
    });

    test("grants only reading pods in the namespace: no cluster-wide role, each RoleBinding to a rendered Role", () => {
      expect([...kind("ClusterRole"), ...kind("ClusterRoleBinding")]).toEqual([]);
      const rules = kind("Role").flatMap((role) => role.rules);
      const read = { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] };
      expect(rules).toEqual(rules.map(() => read));
      const roles = kind("Role").map((role) => role.metadata.name);
      cfg.expectAll(kind("RoleBinding"), id, ({ roleRef }) => roles.includes(roleRef.name));
    });

    test("selects pods by app.kubernetes.io/name alone; a Service fronts its namesake on a port its pods declare", () => {
      const own = (name: string) => ({ matchLabels: { "app.kubernetes.io/name": name } });
      cfg.expectAll(all(), byName, ({ name, object }) => Bun.deepEquals(object.spec.selector, own(name)));
      cfg.expectAll(kind("Service"), id, ({ metadata: { name }, spec }) => {
        const [target, ...others] = selected({ matchLabels: spec.selector });
        const samePorts = spec.ports.every((port: Any) => portOf(target, port.targetPort) === port.port);
        return (
          Bun.deepEquals({ matchLabels: spec.selector }, own(name)) &&
          target?.name === name &&
          !others.length &&
          samePorts
        );
      });
      const byNameOnly = ({ spec }: Any) =>
        Object.keys(spec.selector.matchLabels).join() === "app.kubernetes.io/name";
      cfg.expectAll(kind("PodDisruptionBudget"), id, byNameOnly);
    });

    test("runs one API replica with Recreate while the store is in memory; more only with STORE_URL and a budget", () => {
      expect(api().length).toBe(1);
      for (const { object, labels, containers } of api()) {
        const store = envOf(containers[0]).STORE_URL;
        const { replicas = 1, strategy } = object.spec;
        const budgets = kind("PodDisruptionBudget").filter((pdb) =>
          cfg.selects(pdb.spec.selector, labels),
        ).length;
        const service = kind("Service").some((candidate) => store?.includes(`//${candidate.metadata.name}`));
        const expected = store
          ? { service: true, budgets: replicas > 1 ? 1 : budgets }
          : { replicas: 1, strategy: { type: "Recreate" } };
        expect(store ? { service, budgets } : { replicas, strategy }).toEqual(expected);
      }
    });

    test("configures the API as the server accepts it, memory by memoryLimitBytes(), a grace period over the drain", () => {
      for (const { pod, containers } of api()) {
        const [{ ports, imagePullPolicy, resources }] = containers;
        const env = envOf(containers[0]);
        const config = loadConfig(env);
        // Stated, not defaulted: the limit and grace period below are computed from them.
        const stated = ["PORT", "MAX_STORE_BYTES", "MAX_BODY_BYTES", "SHUTDOWN_TIMEOUT_MS", "DRAIN_DELAY_MS"];
        expect(stated.filter((name) => !(name in env))).toEqual([]);
        // The image exists only in the kind node (`kind load`), never in a registry.
        expect([ports, imagePullPolicy]).toEqual([[{ name: "http", containerPort: config.port }], "Never"]);
        // Request = limit: eviction under node memory pressure never picks the pod that holds the data.
        const memory = [resources.requests.memory, resources.limits.memory].map(cfg.quantity);
        expect(memory).toEqual([memoryLimitBytes(config), memoryLimitBytes(config)]);
        // A drain at all (else the listener stops while kube-proxy still routes here), and 2 s to exit after it.
        expect(config.drainDelayMs).toBeGreaterThan(0);
        const shutdown = config.drainDelayMs + config.shutdownTimeoutMs + 2000;
        expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(shutdown);
      }
    });

    test("admits exactly the connections the configuration makes: default-deny ingress, each client to its port", () => {
      const policies = kind("NetworkPolicy");
      // Pods must keep reaching DNS, and Prometheus the API server.
      expect(policies.filter(({ spec }) => spec.egress || spec.policyTypes?.includes("Egress"))).toEqual([]);
      const denyAll = '{"podSelector":{},"policyTypes":["Ingress"]}';
      expect(policies.filter(({ spec }) => JSON.stringify(spec) === denyAll)).toHaveLength(1);
      // A peer that is not a pod of this namespace stays as written, so the comparison fails on it.
      const sources = (peer: Any) =>
        peer.podSelector && !peer.namespaceSelector
          ? selected(peer.podSelector).map(byName)
          : [JSON.stringify(peer)];
      const admitted = all().flatMap((target) =>
        policies
          .filter(({ spec }) => cfg.selects(spec.podSelector, target.labels))
          .flatMap(({ spec }) => spec.ingress ?? [])
          .flatMap(({ from = [{}], ports = [{}] }: Any) =>
            from
              .flatMap(sources)
              .flatMap((source: string) =>
                ports.map((port: Any) => `${source} -> ${target.name}:${portOf(target, port.port) ?? "*"}`),
              ),
          ),
      );
      expect(admitted.sort()).toEqual(connections(objects()).sort());
    });
  });
}

/**
 * The connections the rendered configuration makes: a workload reaches a Service whose host:port is in its
 * environment or in a ConfigMap it mounts, and Prometheus reaches the pods and ports its pod discovery keeps.
 */
function connections(objects: Any[]): string[] {
  const all = cfg.workloads(objects);
  const data = new Map(
    cfg.ofKind(objects, "ConfigMap").map((map) => [map.metadata.name, Object.values(map.data)]),
  );
  return all.flatMap(({ name: client, pod, containers }) => {
    const files: string[] = (pod.volumes ?? []).flatMap(
      (volume: Any) => data.get(volume.configMap?.name) ?? [],
    );
    const text = [...containers.flatMap((container) => Object.values(envOf(container))), ...files].join("\n");
    const named = cfg.ofKind(objects, "Service").flatMap(({ metadata: { name }, spec }) => {
      const [target] = all.filter((item) => cfg.selects({ matchLabels: spec.selector }, item.labels));
      const mentioned = ({ port }: Any) =>
        new RegExp(`(?<![\\w.-])${name}(\\.${NAMESPACE}[\\w.]*)?:${port}\\b`).test(text);
      return spec.ports
        .filter(mentioned)
        .map((port: Any) => `${client} -> ${name}:${portOf(target, port.targetPort)}`);
    });
    const jobs = files
      .flatMap((file) => parse(file)?.scrape_configs ?? [])
      .filter((job: Any) => job.kubernetes_sd_configs);
    const scraped = jobs.flatMap(({ relabel_configs: rules }: Any) => {
      const keep = (label: string) => {
        const rule = rules.find(
          (r: Any) => r.action === "keep" && r.source_labels.join() === `__meta_kubernetes_pod_${label}`,
        );
        return new RegExp(`^(?:${rule?.regex ?? ".*"})$`);
      };
      const kept = all.filter((item) =>
        keep("label_app_kubernetes_io_name").test(item.labels["app.kubernetes.io/name"] ?? ""),
      );
      const scrapedPorts = (item: Workload) =>
        ports(item).filter((port) => keep("container_port_name").test(port.name));
      return kept.flatMap((item) =>
        scrapedPorts(item).map((port) => `${client} -> ${item.name}:${port.containerPort}`),
      );
    });
    return [...named, ...scraped];
  });
}
