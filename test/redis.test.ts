/**
 * The scaled setup: the API on a real redis-server (test/support/redis.ts), and the k8s/scaled render.
 * Hardening common to every kustomization (non-root, read-only, probes, limits, pins) is test/k8s.test.ts'.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Deployment, type IDeployment } from "kubernetes-models/apps/v1";
import { type INetworkPolicy, NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { type IPodDisruptionBudget, PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { parseAllDocuments } from "yaml";
import { ConfigError, loadConfig, MIB, memoryLimitBytes } from "../server/config";
import { COMMAND_TIMEOUT_MS } from "../server/redis-store";
import { testApp } from "./support/app";
import { KUBECTL, REDIS_SERVER, skipWithout } from "./support/prerequisites";
import { type RunningRedis, startRedis } from "./support/redis";
import { root } from "./support/repo";

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
const STORE_CALLS = "storage_api_store_operation_duration_seconds_count";
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

test("STORE_URL selects Redis, must be redis:// or rediss://, and takes the store out of the memory limit", () => {
  expect(loadConfig({}).storeUrl).toBeUndefined();
  expect(loadConfig({ STORE_URL: "rediss://:pw@valkey:6379" }).storeUrl).toBe("rediss://:pw@valkey:6379");
  for (const bad of ["valkey:6379", "http://valkey", "redis://"])
    expect(() => loadConfig({ STORE_URL: bad })).toThrow(ConfigError);
  expect(memoryLimitBytes(loadConfig({ STORE_URL: "redis://valkey" }))).toBe(512 * MIB);
});

describe.skipIf(skipWithout(REDIS_SERVER))("the API on a real redis-server", () => {
  let redis: RunningRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.close());

  for (const [name, options] of [
    ["in memory", () => ({})],
    ["on Redis", () => ({ storeUrl: redis.url })],
  ] as const) {
    test(`the contract, ${name}: bytes round-trip exactly, PUT overwrites, DELETE 204 then 404, store metrics`, async () => {
      const { request, samples } = testApp(options());
      const id = `/api/buckets/${name}-${crypto.randomUUID()}`;
      expect((await request("PUT", id, { body: binary })).status).toBe(200);
      expect(await bytesOf(await request("GET", id))).toEqual(binary);
      expect((await request("PUT", id, { body: "" })).status).toBe(200);
      expect(await bytesOf(await request("GET", id))).toEqual(new Uint8Array());
      expect((await request("DELETE", id)).status).toBe(204);
      expect([(await request("GET", id)).status, (await request("DELETE", id)).status]).toEqual([404, 404]);
      const calls = (await samples()).filter((s) => s.name === STORE_CALLS);
      expect(calls.map((s) => `${s.labels.operation} ${s.labels.outcome} ${s.value}`).sort()).toEqual([
        "delete ok 2",
        "get ok 3",
        "put ok 2",
      ]);
    });
  }

  test("a store full at maxmemory answers 507 and keeps what it had", async () => {
    const full = await startRedis({ maxmemory: "4mb" });
    try {
      const { request } = testApp({ storeUrl: full.url });
      expect((await request("PUT", "/api/buckets/kept", { body: binary })).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; statuses.at(-1) !== 507 && i < 100; i++)
        statuses.push(
          (await request("PUT", `/api/buckets/big-${i}`, { body: new Uint8Array(512 * 1024) })).status,
        );
      expect(statuses.at(-1)).toBe(507);
      expect((await request("GET", `/api/buckets/big-${statuses.length - 1}`)).status).toBe(404);
      expect((await request("PUT", "/api/buckets/kept", { body: new Uint8Array(512 * 1024) })).status).toBe(
        507,
      );
      expect(await bytesOf(await request("GET", "/api/buckets/kept"))).toEqual(binary);
    } finally {
      await full.close();
    }
  });

  test("redis-server killed, then frozen: 503 + Retry-After in bounded time, unready, alive; back: ready, nothing acknowledged lost", async () => {
    // Durable (fsync per write), so a restart keeps every acknowledged object, as a persistent Valkey would.
    const store = await startRedis({ durable: true });
    const { request } = testApp({ storeUrl: store.url });
    const acknowledged: string[] = [];
    const answers = new Map<string, number>();
    let [running, next, slowest] = [true, 0, 0];
    const client = async () => {
      while (running) {
        const id = `o${next++}`;
        const started = performance.now();
        const put = await request("PUT", `/api/buckets/${id}`, { body: id });
        slowest = Math.max(slowest, performance.now() - started);
        const key = `${put.status} ${put.headers.get("retry-after")}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
        if (put.status === 200) acknowledged.push(id);
      }
    };
    const status = async (path: string) => (await request("GET", path)).status;
    try {
      const clients = [client(), client(), client(), client()];
      for (const [down, up] of [
        [store.stop, store.start],
        [store.pause, store.resume],
      ] as const) {
        await Bun.sleep(300);
        await down();
        await Bun.sleep(COMMAND_TIMEOUT_MS + 500);
        expect([await status("/readyz"), await status("/healthz")]).toEqual([503, 200]);
        await up();
        const back = performance.now();
        while ((await status("/readyz")) !== 200 && performance.now() - back < 5000) await Bun.sleep(50);
        expect(await status("/readyz")).toBe(200);
      }
      running = false;
      await Promise.all(clients);
      expect([...answers.keys()].sort()).toEqual(["200 null", "503 1"]);
      expect(slowest).toBeLessThan(COMMAND_TIMEOUT_MS + 1500);
      for (const id of acknowledged)
        expect(await (await request("GET", `/api/buckets/${id}`)).text()).toBe(id);
    } finally {
      running = false;
      await store.close();
    }
  });
});

type K8sObject = { kind: string; metadata: { name: string } };
function render(dir: string): K8sObject[] {
  const run = Bun.spawnSync([KUBECTL ?? "kubectl", "kustomize", `${root}/${dir}`]);
  if (!run.success) throw new Error(`kubectl kustomize ${dir}: ${run.stderr}`);
  return parseAllDocuments(String(run.stdout)).map((document) => document.toJS() as K8sObject);
}

describe.skipIf(skipWithout(KUBECTL))("kubectl kustomize k8s/scaled", () => {
  let rendered: K8sObject[] | undefined;
  const objects = () => (rendered ??= render("k8s/scaled"));
  // A missing object reads as an empty one, which every assertion below then fails on.
  const find = (kind: string, name: string) =>
    objects().find((o) => o.kind === kind && o.metadata.name === name) ?? { kind, metadata: { name } };
  const deployment = (name: string) => new Deployment(find("Deployment", name) as unknown as IDeployment);
  const container = (name: string) => deployment(name).spec?.template.spec?.containers[0];
  const policies = () =>
    objects()
      .filter((o) => o.kind === "NetworkPolicy")
      .map((o) => new NetworkPolicy(o as unknown as INetworkPolicy));

  test("three API replicas roll one new pod in before an old one leaves, spread over nodes, one disruption at a time", () => {
    const api = deployment("storage-api");
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
    expect(deployment("valkey").spec?.replicas).toBe(1);
    const args = container("valkey")?.args ?? [];
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
    expect([flag("maxmemory-policy"), flag("save"), flag("appendonly")]).toEqual(["noeviction", "", "no"]);
    // Its limit leaves room for fragmentation: twice maxmemory (docs/decisions.md).
    const limit = container("valkey")?.resources?.limits?.memory;
    expect(`${2 * Number.parseInt(flag("maxmemory") ?? "", 10)}Mi`).toBe(String(limit));
  });

  test("the policies admit only the API to Valkey, and only Prometheus and labelled clients to the API", () => {
    for (const object of [...policies(), deployment("storage-api"), deployment("valkey")]) object.validate();
    const pods = objects()
      .filter((o) => o.kind === "Deployment")
      .map((o) => o.metadata.name)
      .map((name) => ({
        name,
        namespace: "storage-api",
        labels: deployment(name).spec?.template.metadata?.labels ?? {},
      }));
    const sources = [
      ...pods,
      { name: "labelled client", namespace: "storage-api", labels: { "storage-api/client": "true" } },
      { name: "labelled elsewhere", namespace: "elsewhere", labels: { "storage-api/client": "true" } },
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
