/**
 * Every kustomization under k8s/ as `kubectl kustomize` renders it, each object validated against its
 * Kubernetes OpenAPI schema (kubernetes-models), then held to what an SRE asks, each rule once over every
 * object it applies to: restricted Pod Security, pinned images, limits, probes, least-privilege RBAC,
 * NetworkPolicies that admit exactly the connections the configuration makes, replicas that fit the store.
 */
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { loadConfig, memoryLimitBytes } from "../server/config";
import { steps } from "./support/dockerfile";
import type { Any, Workload } from "./support/k8s";
import {
  describeWith,
  expectAll,
  kustomizations,
  ofKind,
  quantity,
  read,
  render,
  root,
  selects,
  splitImage,
  workloads,
} from "./support/k8s";
import { KUBECTL } from "./support/prerequisites";

const NAMESPACE = "storage-api";
/** Tilt's overlay: it runs the Dockerfile's dev stage, into which Tilt syncs files. */
const DEV = "k8s/dev";
/** The users third-party images are built to run as (their data folders belong to them). */
const IMAGE_USERS: Record<string, number> = {
  "prom/prometheus": 65534,
  "prom/alertmanager": 65534,
  "grafana/grafana": 472,
};
const pkg = JSON.parse(read("package.json"));
const API_IMAGE = `${pkg.name}:${pkg.version}`;
const stageUser = (stage: string) => Number(steps(stage, "USER").at(-1)?.args[0]?.split(":")[0]);
const envOf = (container: Any) =>
  Object.fromEntries((container.env ?? []).map((variable: Any) => [variable.name, variable.value]));
const ports = (workload?: Workload): Any[] =>
  workload?.containers.flatMap((container) => container.ports ?? []) ?? [];
/** The containerPort a Service or NetworkPolicy port (number or name) means in these pods. */
const portOf = (workload: Workload | undefined, port: unknown) =>
  ports(workload).find((candidate) => candidate.name === port || candidate.containerPort === port)
    ?.containerPort;
const id = (object: Any) => `${object.kind}/${object.metadata.name}`;

async function schemaViolations(objects: Any[]): Promise<string[]> {
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

for (const dir of kustomizations) {
  describeWith(KUBECTL, "kubectl")(`kubectl kustomize ${dir}`, () => {
    const objects = () => render(dir);
    const all = () => workloads(objects());
    const api = () =>
      all().filter((item) => item.containers.some((container) => container.image === API_IMAGE));
    const selected = (selector: Any) => all().filter((item) => selects(selector, item.labels));
    const every = (rule: string, holds: (item: Workload, containers: Any[]) => unknown) =>
      test(`every workload ${rule}`, () =>
        expectAll(
          all(),
          (item) => item.name,
          (item) => holds(item, item.containers),
        ));

    test("renders only schema-valid objects, in the storage-api namespace, labelled part-of it, and no Secret", async () => {
      expect(await schemaViolations(objects())).toEqual([]);
      expectAll(
        objects(),
        id,
        ({ kind, metadata: { namespace, labels } }) =>
          kind !== "Secret" &&
          namespace === (kind === "Namespace" ? undefined : NAMESPACE) &&
          labels?.["app.kubernetes.io/part-of"] === NAMESPACE,
      );
    });

    test("enforces the restricted Pod Security profile of the Kubernetes release kind-up.sh pins, warns on the latest", () => {
      const node = /kindest\/node:(v\d+\.\d+)\.\d+@sha256:[0-9a-f]{64}/.exec(read("scripts/kind-up.sh"))?.[1];
      const labels = JSON.stringify(
        ofKind(objects(), "Namespace").map((namespace) => namespace.metadata.labels),
      );
      for (const [mode, version] of [
        ["enforce", node],
        ["warn", "latest"],
        ["audit", "latest"],
      ]) {
        expect(labels).toContain(
          `"pod-security.kubernetes.io/${mode}":"restricted","pod-security.kubernetes.io/${mode}-version":"${version}"`,
        );
      }
    });

    every(
      "runs as the numeric non-root user its image is built for, with RuntimeDefault seccomp and no host namespace",
      ({ pod }, [first]) => {
        const api = first.image === API_IMAGE ? stageUser(dir === DEV ? "dev" : "production") : undefined;
        const { runAsNonRoot, runAsUser: uid, runAsGroup, seccompProfile } = pod.securityContext ?? {};
        const built = api ?? IMAGE_USERS[splitImage(first.image)[0] ?? ""] ?? uid;
        const host = pod.hostNetwork || pod.hostPID || pod.hostIPC;
        return (
          runAsNonRoot &&
          uid > 0 &&
          Number.isInteger(uid) &&
          uid === runAsGroup &&
          uid === built &&
          seccompProfile?.type === "RuntimeDefault" &&
          !host
        );
      },
    );
    every(
      "drops every capability and privilege in every container, on a read-only root (but the dev API's, for Tilt's sync)",
      (_, containers) =>
        containers.every(({ image, securityContext }) =>
          Bun.deepEquals(securityContext, {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            readOnlyRootFilesystem: !(dir === DEV && image === API_IMAGE),
          }),
        ),
    );
    every("uses only volume types the restricted profile allows, and no host port", ({ pod }, containers) => {
      const allowed = [
        "configMap",
        "emptyDir",
        "secret",
        "projected",
        "downwardAPI",
        "persistentVolumeClaim",
      ];
      const volumes = (pod.volumes ?? []).every((volume: Any) => allowed.some((type) => volume[type]));
      return (
        volumes &&
        containers.every((container) => (container.ports ?? []).every((port: Any) => !port.hostPort))
      );
    });
    every("sets cpu and memory requests, within limits, on every container", (_, containers) =>
      containers.every(({ resources: { requests = {}, limits = {} } = {} }) =>
        ["cpu", "memory"].every(
          (key) => quantity(requests[key]) > 0 && quantity(requests[key]) <= quantity(limits[key]),
        ),
      ),
    );
    every(
      "probes readiness and liveness on declared ports, liveness the more patient (a restart costs more than a pause)",
      (item) =>
        item.pod.containers.every(({ readinessProbe, livenessProbe }: Any) => {
          const window = (probe: Any) => (probe.periodSeconds ?? 10) * (probe.failureThreshold ?? 3);
          const declared = (probe: Any) => {
            const action = probe?.httpGet ?? probe?.tcpSocket ?? probe?.grpc;
            return action ? portOf(item, action.port) && (action.path ?? "/").startsWith("/") : probe?.exec;
          };
          return (
            declared(readinessProbe) &&
            declared(livenessProbe) &&
            window(livenessProbe) > window(readinessProbe)
          );
        }),
    );
    every("pins every image to an x.y.z release", (_, containers) =>
      containers.every(({ image }) => /^v?\d+\.\d+\.\d+$/.test(splitImage(image)[1] ?? "")),
    );
    every(
      "runs under its own ServiceAccount, with a token only if a RoleBinding grants that account something",
      ({ name, pod }) => {
        const account = ofKind(objects(), "ServiceAccount").find(
          (candidate) => candidate.metadata.name === name,
        );
        const granted = ofKind(objects(), "RoleBinding").some(({ subjects }) =>
          subjects.some((subject: Any) => subject.name === name),
        );
        const mounted = pod.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true;
        return (
          pod.serviceAccountName === name &&
          account &&
          mounted === granted &&
          !pod.volumes?.some((volume: Any) => volume.projected)
        );
      },
    );

    test("grants only reading pods in the namespace: no cluster-wide role, each RoleBinding to a rendered Role", () => {
      expect([...ofKind(objects(), "ClusterRole"), ...ofKind(objects(), "ClusterRoleBinding")]).toEqual([]);
      const roles = ofKind(objects(), "Role");
      const rules = roles.flatMap((role) => role.rules);
      expect(rules).toEqual(
        rules.map(() => ({ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] })),
      );
      expectAll(ofKind(objects(), "RoleBinding"), id, ({ roleRef }) =>
        roles.some((role) => role.metadata.name === roleRef.name),
      );
    });

    test("selects by app.kubernetes.io/name alone, and every selector of a workload, Service, budget or policy selects pods", () => {
      const selectors = [
        ...all().map((item) => item.object),
        ...ofKind(objects(), "PodDisruptionBudget"),
      ].map((object) => [id(object), object.spec.selector]);
      for (const object of [...ofKind(objects(), "Service"), ...ofKind(objects(), "NetworkPolicy")]) {
        const peers = (object.spec.ingress ?? [])
          .flatMap((rule: Any) => rule.from ?? [])
          .map((peer: Any) => peer.podSelector);
        const own = object.spec.podSelector ?? { matchLabels: object.spec.selector };
        selectors.push(...[own, ...peers].filter(Boolean).map((selector) => [id(object), selector]));
      }
      const keys = (selector: Any) => Object.keys(selector.matchLabels ?? {}).join();
      expectAll(
        selectors,
        String,
        ([, selector]) =>
          ["", "app.kubernetes.io/name"].includes(keys(selector)) && selected(selector).length,
      );
      expectAll(
        all(),
        (item) => item.name,
        (item) => selects(item.object.spec.selector, item.labels),
      );
    });

    test("fronts a workload only with a Service named after it, on the number of a port its pods declare", () => {
      expectAll(ofKind(objects(), "Service"), id, ({ metadata, spec }) => {
        const targets = selected({ matchLabels: spec.selector });
        const samePorts = spec.ports.every((port: Any) => portOf(targets[0], port.targetPort) === port.port);
        return targets.map((item) => item.name).join() === metadata.name && samePorts;
      });
    });

    test("runs one API replica with Recreate while the store is process memory; more only with an external STORE_URL and a PodDisruptionBudget", () => {
      expect(api().length).toBe(1);
      for (const { object, labels, containers } of api()) {
        const store = envOf(containers[0]).STORE_URL;
        const { replicas = 1, strategy } = object.spec;
        const budgets = ofKind(objects(), "PodDisruptionBudget").filter((pdb) =>
          selects(pdb.spec.selector, labels),
        );
        if (store === undefined)
          expect({ replicas, strategy }).toEqual({ replicas: 1, strategy: { type: "Recreate" } });
        else
          expect({
            host: ofKind(objects(), "Service").some((service) =>
              store.includes(`//${service.metadata.name}`),
            ),
            budgets: budgets.length,
          }).toEqual({ host: true, budgets: replicas > 1 ? 1 : budgets.length });
      }
    });

    test("configures the API as the server accepts it: its port, memory by memoryLimitBytes() requested whole, a grace period over the drain", () => {
      for (const {
        pod,
        containers: [container],
      } of api()) {
        const env = envOf(container);
        const config = loadConfig(env);
        // Stated, not defaulted: the limit and grace period below are computed from them.
        expect(Object.keys(env)).toEqual(
          expect.arrayContaining([
            "PORT",
            "MAX_STORE_BYTES",
            "MAX_BODY_BYTES",
            "SHUTDOWN_TIMEOUT_MS",
            "DRAIN_DELAY_MS",
          ]),
        );
        // The image exists only in the kind node (`kind load`), never in a registry.
        expect([container.ports, container.imagePullPolicy]).toEqual([
          [{ name: "http", containerPort: config.port }],
          "Never",
        ]);
        // Request = limit: eviction under node memory pressure never picks the pod that holds the data.
        const { requests, limits } = container.resources;
        expect([quantity(requests.memory), quantity(limits.memory)]).toEqual([
          memoryLimitBytes(config),
          memoryLimitBytes(config),
        ]);
        // A drain at all (else the listener stops while kube-proxy still routes here), and 2 s to exit after it.
        expect(config.drainDelayMs).toBeGreaterThan(0);
        expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(
          config.drainDelayMs + config.shutdownTimeoutMs + 2000,
        );
      }
    });

    test("admits exactly the connections the configuration makes: default-deny ingress, each client to the port it names", () => {
      const policies = ofKind(objects(), "NetworkPolicy");
      // Pods must keep reaching DNS, and Prometheus the API server.
      expect(policies.filter(({ spec }) => spec.egress || spec.policyTypes?.includes("Egress"))).toEqual([]);
      expect(
        policies.filter(
          ({ spec }) => JSON.stringify(spec) === '{"podSelector":{},"policyTypes":["Ingress"]}',
        ),
      ).toHaveLength(1);
      const admitted = all().flatMap((target) =>
        policies
          .filter(({ spec }) => selects(spec.podSelector, target.labels))
          .flatMap(({ spec }) => spec.ingress ?? [])
          .flatMap(({ from = [{}], ports = [{}] }: Any) =>
            // A peer that is not a pod of this namespace stays as written, so the comparison fails on it.
            from
              .flatMap((peer: Any) =>
                peer.podSelector && !peer.namespaceSelector
                  ? selected(peer.podSelector).map((item) => item.name)
                  : [JSON.stringify(peer)],
              )
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
  const all = workloads(objects);
  const data = new Map(
    ofKind(objects, "ConfigMap").map((configMap) => [configMap.metadata.name, Object.values(configMap.data)]),
  );
  return all.flatMap(({ name: client, pod, containers }) => {
    const files: string[] = (pod.volumes ?? []).flatMap(
      (volume: Any) => data.get(volume.configMap?.name) ?? [],
    );
    const text = [...containers.flatMap((container) => Object.values(envOf(container))), ...files].join("\n");
    const named = ofKind(objects, "Service").flatMap(({ metadata, spec }) => {
      const [target] = all.filter((item) => selects({ matchLabels: spec.selector }, item.labels));
      const mentioned = (port: Any) =>
        new RegExp(`(?<![\\w.-])${metadata.name}(\\.${NAMESPACE}[\\w.]*)?:${port.port}\\b`).test(text);
      return spec.ports
        .filter(mentioned)
        .map((port: Any) => `${client} -> ${target?.name}:${portOf(target, port.targetPort)}`);
    });
    const jobs = files
      .flatMap((file) => parse(file)?.scrape_configs ?? [])
      .filter((job: Any) => job.kubernetes_sd_configs);
    const scraped = jobs.flatMap(({ relabel_configs: rules }: Any) => {
      const keep = (label: string) =>
        new RegExp(
          `^(?:${rules.find((rule: Any) => rule.action === "keep" && rule.source_labels.join() === label)?.regex ?? ".*"})$`,
        );
      const [name, port] = [
        keep("__meta_kubernetes_pod_label_app_kubernetes_io_name"),
        keep("__meta_kubernetes_pod_container_port_name"),
      ];
      return all
        .filter((item) => name.test(item.labels["app.kubernetes.io/name"] ?? ""))
        .flatMap((item) =>
          ports(item)
            .filter((candidate) => port.test(candidate.name ?? ""))
            .map((candidate) => `${client} -> ${item.name}:${candidate.containerPort}`),
        );
    });
    return [...named, ...scraped];
  });
}

describe.skipIf(!KUBECTL)(`the ${DEV} overlay`, () => {
  /** Every leaf that differs between two objects, as "path: base -> dev". */
  const differences = (base: Any, dev: Any, path: string): string[] =>
    typeof base === "object" && typeof dev === "object"
      ? [...new Set([...Object.keys(base ?? {}), ...Object.keys(dev ?? {})])].flatMap((key) =>
          differences(base?.[key], dev?.[key], `${path}.${key}`),
        )
      : base === dev
        ? []
        : [`${path}: ${base} -> ${dev}`];

  test("differs from the base only in the API pod's user (the dev stage's) and its writable root filesystem", () => {
    const base = render("k8s");
    const changed = render(DEV).flatMap((object, index) => differences(base[index], object, id(object)));
    const [production, dev] = [stageUser("production"), stageUser("dev")];
    const pod = "Deployment/storage-api.spec.template.spec";
    expect(changed.sort()).toEqual([
      `${pod}.containers.0.securityContext.readOnlyRootFilesystem: true -> false`,
      ...["fsGroup", "runAsGroup", "runAsUser"].map(
        (field) => `${pod}.securityContext.${field}: ${production} -> ${dev}`,
      ),
    ]);
  });
});

/** Runs a script with stand-ins for docker, kind and kubectl first on PATH; each appends its calls to $FAKE/<name>. */
function withStandIns(script: string, fakes: Record<string, string>, env: Record<string, string>) {
  const bin = mkdtempSync(join(tmpdir(), "stand-ins-"));
  try {
    for (const [name, body] of Object.entries(fakes)) {
      writeFileSync(
        join(bin, name),
        `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> "$FAKE/${name}.calls"\n${body}\n`,
      );
      chmodSync(join(bin, name), 0o755);
    }
    const result = Bun.spawnSync(["bash", script, ...(env.ARGS ?? "").split(" ").filter(Boolean)], {
      cwd: root,
      env: { ...process.env, ...env, PATH: `${bin}:${process.env.PATH}`, FAKE: bin },
      timeout: 10_000,
    });
    const file = (name: string) => readFileSync(join(bin, name), { encoding: "utf8", flag: "a+" });
    return {
      status: result.exitCode,
      stderr: result.stderr.toString(),
      calls: file(`${Object.keys(fakes)[0]}.calls`),
      created: file("created.yaml"),
    };
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

describe.skipIf(!KUBECTL)("scripts/ensure-grafana-secret.sh", () => {
  const kubectl = `case "$*" in
  *" get namespace "*) [[ "$NAMESPACE" == present ]] ;;
  *" get secret "*) [[ "$SECRET" == present ]] ;;
  *" create -f -"*) cat > "$FAKE/created.yaml" ;;
  *" apply -f "*) ;;
  *) exit 3 ;;
esac`;
  const ensure = (NAMESPACE: string, SECRET: string) => {
    const result = withStandIns(
      "scripts/ensure-grafana-secret.sh",
      { kubectl },
      { NAMESPACE, SECRET, ARGS: "kind-storage-api" },
    );
    return {
      ...result,
      calls: result.calls.trim().split("\n"),
      created: parseAllDocuments(result.created).map((document) => document.toJS()),
    };
  };

  test("creates the Secret Grafana reads, in the given context, with a random password kept off command lines", async () => {
    const [first, second] = [ensure("present", "absent"), ensure("present", "absent")];
    expect(await schemaViolations(first.created)).toEqual([]);
    const [{ metadata, stringData }] = first.created;
    expect([first.status, metadata.name, metadata.namespace]).toEqual([0, "grafana-admin", NAMESPACE]);
    const references = workloads(render("k8s")).flatMap((item) =>
      item.containers.flatMap((container) => container.env ?? []),
    );
    const keys = references.flatMap(({ valueFrom }: Any) =>
      valueFrom?.secretKeyRef ? [`${valueFrom.secretKeyRef.name}/${valueFrom.secretKeyRef.key}`] : [],
    );
    expect(keys.sort()).toEqual(
      Object.keys(stringData)
        .map((key) => `grafana-admin/${key}`)
        .sort(),
    );
    const password = stringData["admin-password"];
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(
      first.calls.filter(
        (call) => call.includes(password) || !call.startsWith("--context kind-storage-api "),
      ),
    ).toEqual([]);
    expect(second.created[0].stringData["admin-password"]).not.toBe(password);
  });

  test("leaves an existing Secret alone, so the password stays the same", () => {
    const result = ensure("present", "present");
    expect([
      result.status,
      result.created,
      result.calls.filter((call) => /\b(create|apply|delete|replace|patch)\b/.test(call)),
    ]).toEqual([0, [], []]);
  });

  test("creates the namespace first, from namespace.yaml, whose every object names the namespace itself", () => {
    const result = ensure("absent", "absent");
    expect([
      result.calls.includes(`--context kind-storage-api apply -f ${root}/k8s/base/namespace.yaml`),
      result.created.length,
    ]).toEqual([true, 1]);
    const objects = parseAllDocuments(read("k8s/base/namespace.yaml")).map((document) => document.toJS());
    expect(
      objects.filter((object) => object.kind !== "Namespace" && object.metadata.namespace !== NAMESPACE),
    ).toEqual([]);
  });
});

test("scripts/kind-up.sh creates the cluster with any patch of the kind release its node image comment names, stops on another", () => {
  const release = /^readonly kind_release=(v\d+\.\d+)$/m.exec(read("scripts/kind-up.sh"))?.[1] ?? "none";
  expect(read("scripts/kind-up.sh")).toContain(`# kind ${release}.`);
  const [major, minor] = release.slice(1).split(".").map(Number);
  const good = [
    `kind ${release}.0 go1.25.1 linux/amd64`,
    `kind ${release}.2-alpha.4+0123 go1.25.1 darwin/arm64`,
  ];
  const bad = [
    `kind v${major}.${Number(minor) - 1}.0 go`,
    `kind v${major}.${Number(minor) + 1}.0 go`,
    `kind v${major}.${minor}0.0 go`,
    "something else",
  ];
  for (const version of [...good, ...bad]) {
    const kind = `[[ "$1" == version ]] && printf '%s\\n' "$KIND_VERSION"; true`;
    const result = withStandIns(
      "scripts/kind-up.sh",
      { kind, docker: "", kubectl: "" },
      { KIND_VERSION: version },
    );
    const expected = good.includes(version)
      ? [0, true, ""]
      : [1, false, expect.stringMatching(new RegExp(`needs kind ${release}\\.x.*${version}`))];
    expect([version, result.status, result.calls.includes("create cluster"), result.stderr]).toEqual([
      version,
      ...expected,
    ]);
  }
});
