/**
 * The scaled setup: the API on a real redis-server (test/support/redis.ts), and the k8s/scaled render.
 * Hardening common to every kustomization (non-root, read-only, probes, limits, pins) is test/k8s.test.ts'.
 */
import { describe, expect, test } from "bun:test";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import { type INetworkPolicy, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { type IPodDisruptionBudget, PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { type K8sObject, render } from "./support/k8s";
import { KUBECTL, skipWithout } from "./support/prerequisites";

describe.skipIf(skipWithout(KUBECTL))("kubectl kustomize k8s/scaled", () => {
  const objects = () => render("k8s/scaled");
  const find = (kind: string, name: string) => {
    const found = objects().find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name} in k8s/scaled`);
    return found;
  };
  const deployment = (name: string) => new Deployment(find("Deployment", name) as unknown as IDeployment);
  const container = (name: string) => deployment(name).spec?.template.spec?.containers[0];
  const policies = () =>
    objects()
      .filter((o) => o.kind === "NetworkPolicy")
      .map((o) => new NetworkPolicy(o as unknown as INetworkPolicy));

  test("three API replicas roll one new pod in before an old one leaves, spread over nodes, one disruption at a time", () => {
    const api = deployment("storage-api");
    api.validate();
    const labels = api.spec?.template.metadata?.labels ?? {};
    expect(api.spec?.replicas).toBe(3);
    expect(api.spec?.strategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    const [spread] = api.spec?.template.spec?.topologySpreadConstraints ?? [];
    expect(spread?.topologyKey).toBe("kubernetes.io/hostname");
    expect(matches(spread?.labelSelector?.matchLabels, labels)).toBe(true);
    const pdb = new PodDisruptionBudget(find("PodDisruptionBudget", "storage-api") as IPodDisruptionBudget);
    pdb.validate();
    expect(matches(pdb.spec?.selector?.matchLabels, labels)).toBe(true);
    expect(pdb.spec?.maxUnavailable).toBe(1);
  });

  test("the API stores in the Valkey Service, which refuses writes past maxmemory instead of evicting", () => {
    const env = Object.fromEntries((container("storage-api")?.env ?? []).map((e) => [e.name, e.value]));
    const service = find("Service", "valkey") as K8sObject & { spec: { ports: { port: number }[] } };
    expect(env.STORE_URL).toBe(`redis://${service.metadata.name}:${service.spec.ports[0]?.port}`);
    expect(env.MAX_STORE_BYTES).toBeUndefined();
    const valkey = deployment("valkey");
    valkey.validate();
    expect(valkey.spec?.replicas).toBe(1);
    const args = container("valkey")?.args ?? [];
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
    expect([flag("maxmemory-policy"), flag("save"), flag("appendonly")]).toEqual(["noeviction", "", "no"]);
    // Its limit leaves room for fragmentation: twice maxmemory (docs/decisions.md).
    const limit = container("valkey")?.resources?.limits?.memory;
    expect(`${2 * Number.parseInt(flag("maxmemory") ?? "", 10)}Mi`).toBe(String(limit));
  });

  test("the policies admit only the API to Valkey, and only Prometheus and labelled clients to the API", () => {
    for (const policy of policies()) policy.validate();
    const pods = objects()
      .filter((o) => o.kind === "Deployment")
      .map((o) => ({ name: o.metadata.name, namespace: "storage-api", labels: podLabels(o) }));
    const sources = [
      ...pods,
      { name: "labelled client", namespace: "elsewhere", labels: { "storage-api/client": "true" } },
      { name: "other pod", namespace: "elsewhere", labels: {} },
    ];
    const admitted = (target: string, port: number) => {
      const labels = pods.find((pod) => pod.name === target)?.labels ?? {};
      const selecting = policies().filter((p) => matches(p.spec?.podSelector?.matchLabels, labels));
      // No ports or no from: every port or every source. An ipBlock may be anyone.
      const admits = (
        rule: NonNullable<NetworkPolicy["spec"]>["ingress"],
        source: (typeof sources)[number],
      ) =>
        (rule ?? []).some(
          ({ ports, from }) =>
            (ports === undefined || ports.some((p) => p.port === port)) &&
            (from === undefined ||
              from.some(
                (peer) =>
                  peer.ipBlock !== undefined ||
                  ((peer.namespaceSelector !== undefined || source.namespace === "storage-api") &&
                    matches(peer.podSelector?.matchLabels, source.labels)),
              )),
        );
      return sources
        .filter((source) => selecting.some((p) => admits(p.spec?.ingress, source)))
        .map((source) => source.name);
    };
    expect(admitted("valkey", 6379)).toEqual(["storage-api"]);
    expect(admitted("storage-api", 5000).sort()).toEqual(["labelled client", "prometheus"]);
  });
});

/** A matchLabels selector; {} or none selects everything. */
function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);
}

function podLabels(object: K8sObject): Record<string, string> {
  return new Deployment(object as unknown as IDeployment).spec?.template.metadata?.labels ?? {};
}
