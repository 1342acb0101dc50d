/**
 * The scaled setup: the API on a real redis-server (test/support/redis.ts), and the k8s/scaled render.
 * What every kustomization must hold (hardening, schemas, only the connections it makes) is test/k8s.test.ts'.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { COMMAND_TIMEOUT_MS } from "../server/redis-store";
import { testApp } from "./support/app";
import { KUBECTL, REDIS_SERVER, skipWithout } from "./support/prerequisites";
import { type RunningRedis, startRedis } from "./support/redis";
import * as cfg from "./support/render";
import type { Any } from "./support/repo";

const binary = Uint8Array.from({ length: 256 }, (_, i) => i);
const STORE_CALLS = "storage_api_store_operation_duration_seconds_count";
const bytesOf = async (response: Response) => new Uint8Array(await response.arrayBuffer());

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

cfg.describeWith(KUBECTL, "kubectl")("kubectl kustomize k8s/scaled", () => {
  const find = (kind: string, name: string): Any =>
    cfg.render("k8s/scaled").find((o: Any) => o.kind === kind && o.metadata.name === name);
  const container = (name: string) => find("Deployment", name).spec.template.spec.containers[0];

  test("three API replicas roll one new pod in before an old one leaves, spread over nodes, one disruption at a time", () => {
    const { replicas, strategy, template } = find("Deployment", "storage-api").spec;
    const [spread] = template.spec.topologySpreadConstraints;
    const pdb = find("PodDisruptionBudget", "storage-api").spec;
    const rolling = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    expect([replicas, strategy, spread.topologyKey, pdb.maxUnavailable]).toEqual([
      3,
      rolling,
      "kubernetes.io/hostname",
      1,
    ]);
    const selectors = [spread.labelSelector, pdb.selector].map((s) =>
      cfg.selects(s, template.metadata.labels),
    );
    expect(selectors).toEqual([true, true]);
  });

  test("the API stores in the Valkey Service, which refuses writes past maxmemory instead of evicting", () => {
    const env = Object.fromEntries(container("storage-api").env.map((e: Any) => [e.name, e.value]));
    const service = find("Service", "valkey");
    expect(env.STORE_URL).toBe(`redis://${service.metadata.name}:${service.spec.ports[0]?.port}`);
    expect(find("Deployment", "valkey").spec.replicas).toBe(1);
    const args = container("valkey").args;
    const flag = (name: string) => args[args.indexOf(`--${name}`) + 1];
    expect([flag("maxmemory-policy"), flag("save"), flag("appendonly")]).toEqual(["noeviction", "", "no"]);
    // Its limit leaves room for fragmentation: twice maxmemory (docs/decisions.md).
    const limit = container("valkey").resources.limits.memory;
    expect(`${2 * Number.parseInt(flag("maxmemory") ?? "", 10)}Mi`).toBe(String(limit));
  });

  test("pods of the namespace labelled storage-api/client may call the API's port", () => {
    const labels = find("Deployment", "storage-api").spec.template.metadata.labels;
    const rules = cfg
      .ofKind(cfg.render("k8s/scaled"), "NetworkPolicy")
      .filter(({ spec }) => cfg.selects(spec.podSelector, labels))
      .flatMap(({ spec }) => spec.ingress);
    const client = { podSelector: { matchLabels: { "storage-api/client": "true" } } };
    expect(rules).toContainEqual({ from: [client], ports: [{ protocol: "TCP", port: 5000 }] });
  });
});
