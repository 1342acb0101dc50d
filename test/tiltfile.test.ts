/**
 * The Tiltfile run in a real Starlark interpreter (go.starlark.net, test/support/tilt-starlark) with Tilt's
 * builtins recorded under their documented signatures, then checked against the repository and the render
 * it deploys. Tilt itself (Docker, a cluster) is not run here.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerignoreAllowed, stages, steps } from "./support/dockerfile";
import { GO, KUBECTL, STARLARK_GOPATH } from "./support/prerequisites";
import type { Any } from "./support/render";
import * as cfg from "./support/render";
import { read, root } from "./support/repo";

const CONTEXT = `kind-${/^readonly cluster=(\S+)$/m.exec(read("scripts/kind-up.sh"))?.[1]}`;
let bin = "";

/** Runs the Tiltfile for a `tilt` subcommand against a kubectl context: its recorded calls, or what fail() said. */
function tilt(subcommand: string, context = CONTEXT) {
  const result = Bun.spawnSync([bin, "Tiltfile", subcommand, context], { cwd: root, timeout: 10_000 });
  const calls: Any[] = result.exitCode === 0 ? JSON.parse(result.stdout.toString()) : [];
  const all = (fn: string): Any[] => calls.filter((call) => call.fn === fn).map((call) => call.args);
  return { status: result.exitCode, stderr: result.stderr.toString(), all, one: (fn: string) => all(fn)[0] };
}

cfg.describeWith(GO && KUBECTL, "go, golang-starlark-dev and kubectl")("Tiltfile, run in Starlark", () => {
  let up: ReturnType<typeof tilt>;
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), "tilt-starlark-")), "tilt-starlark");
    // GOPATH mode on Debian's sources: offline, no module download; Go's own build cache, unless $HOME is unset.
    const cache = process.env.HOME ? {} : { GOCACHE: `${bin}-cache` };
    const env = { ...process.env, GO111MODULE: "off", GOPATH: STARLARK_GOPATH, GOFLAGS: "", ...cache };
    const build = Bun.spawnSync([GO ?? "go", "build", "-o", bin, "./test/support/tilt-starlark"], {
      cwd: root,
      env,
    });
    if (build.exitCode !== 0) throw new Error(`go build failed:\n${build.stderr}`);
    up = tilt("up");
    if (up.status !== 0) throw new Error(`the Tiltfile failed under Starlark:\n${up.stderr}`);
  }, 120_000);
  afterAll(() => rmSync(join(bin, ".."), { recursive: true, force: true }));

  test("fails unless kubectl's context is the kind cluster kind-up.sh creates; creates the Grafana Secret there on up only", () => {
    const wrong = tilt("up", "docker-desktop");
    expect([wrong.status, wrong.stderr]).toEqual([1, expect.stringContaining(`not '${CONTEXT}'`)]);
    expect(up.all("allow_k8s_contexts")).toEqual([{ contexts: CONTEXT }]);
    expect(read("scripts/kind-deploy.sh")).toMatch(new RegExp(`context=${CONTEXT}\\b`));
    // `tilt down` runs the file too, and must not create anything.
    expect(up.all("local")).toEqual([{ command: ["scripts/ensure-grafana-secret.sh", CONTEXT] }]);
    expect(tilt("down").all("local")).toEqual([]);
  });

  test("builds a Dockerfile stage, syncs code where it runs it, rebuilds on what it installs from, all in the context", () => {
    const { ref, context, target, dockerfile = "Dockerfile", live_update } = up.one("docker_build");
    expect([ref, existsSync(join(root, context, dockerfile))]).toEqual(["storage-api", true]);
    const stage = stages.get(target) ?? [];
    const install = stage.findIndex(
      (step) => step.keyword === "RUN" && step.args.join(" ").startsWith("bun install"),
    );
    const manifests = stage
      .slice(0, install)
      .flatMap((step) => (step.keyword === "COPY" ? step.args.slice(0, -1) : []));
    const [fallBack, ...syncs] = live_update;
    expect([fallBack.fn, fallBack.args.files, install > 0]).toEqual(["fall_back_on", manifests, true]);
    for (const { args } of syncs) {
      const folder = args.local_path.replace(/^\.\//, "");
      expect(steps(target, "COPY").map((copy) => copy.args)).toContainEqual([`${folder}/`, `./${folder}/`]);
      expect(args.remote_path).toBe(`${steps(target, "WORKDIR").at(-1)?.args[0]}/${folder}`);
    }
    for (const path of [...manifests, ...syncs.map(({ args }: Any) => args.local_path)])
      expect(dockerignoreAllowed).toContain(`!${path.replace(/^\.\//, "")}`); // Tilt ignores the rest
  });

  test("watch_file()s exactly the generator files kustomize() misses: `key=file` entries (Tilt watches the literal path)", () => {
    const missed = cfg.generated.filter((entry) => entry.renamed).map((entry) => entry.file);
    expect(up.all("watch_file").map((call) => call.file_path)).toEqual(missed);
    for (const path of missed) expect(existsSync(join(root, path))).toBe(true);
  });

  test("names each workload of the kustomization it deploys, the built image in the API's alone, one port forward each", () => {
    const rendered = cfg.workloads(cfg.render(up.one("k8s_yaml").yaml.args.pathToDir));
    const resources = up.all("k8s_resource");
    expect(resources.map((resource) => resource.workload).sort()).toEqual(
      rendered.map((item) => item.name).sort(),
    );
    const built = rendered.filter((item) =>
      item.containers.some((c) => cfg.splitImage(c.image)[0] === up.one("docker_build").ref),
    );
    expect(built.map((item) => item.name)).toEqual(["storage-api"]);
    // One forward per resource, to a port its containers declare, each on its own local port.
    const ports = (name: string) =>
      rendered.find((item) => item.name === name)?.containers.flatMap((c) => c.ports);
    for (const { workload, port_forwards: forwards } of resources) {
      const declared = forwards.map(({ args }: Any) =>
        ports(workload)?.some((port: Any) => port.containerPort === args.container_port),
      );
      expect({ workload, declared }).toEqual({ workload, declared: [true] });
    }
    const locals = resources.map(({ port_forwards: [{ args }] }) => args.local_port);
    expect(new Set(locals).size).toBe(resources.length);
  });

  test("runs traffic (against the forwarded API) and the tests only on demand, after resources it defines", () => {
    const api = up.all("k8s_resource").find((resource) => resource.workload === "storage-api");
    const traffic = [
      "scripts/generate_traffic.sh",
      `http://localhost:${api.port_forwards[0].args.local_port}`,
    ];
    const manual = { trigger_mode: "TRIGGER_MODE_MANUAL", auto_init: false };
    expect(up.all("local_resource")).toEqual([
      { name: "traffic", cmd: traffic, resource_deps: ["storage-api"], labels: ["tools"], ...manual },
      { name: "tests", cmd: ["bun", "run", "test"], labels: ["tools"], ...manual },
    ]);
    expect(statSync(join(root, traffic[0] ?? "")).mode & 0o111).toBeGreaterThan(0);
    const deps = up.all("k8s_resource").flatMap((resource) => resource.resource_deps ?? []);
    expect(up.all("k8s_resource").map((resource) => resource.workload)).toEqual(expect.arrayContaining(deps));
  });
});
