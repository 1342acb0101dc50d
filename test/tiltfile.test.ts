/**
 * The Tiltfile run in a real Starlark interpreter (go.starlark.net, test/support/tilt-starlark) with Tilt's
 * builtins recorded under their documented signatures, then checked against the repository and the render
 * it deploys. Tilt itself (Docker, a cluster) is not run here.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { stages, steps } from "./support/dockerfile";
import { GO, KUBECTL, STARLARK_GOPATH } from "./support/prerequisites";
import type { Any } from "./support/render";
import * as cfg from "./support/render";
import { read, root } from "./support/repo";

const CONTEXT = `kind-${/^readonly cluster=(\S+)$/m.exec(read("scripts/kind-up.sh"))?.[1]}`;
let bin = "";

/** Runs the Tiltfile for a `tilt` subcommand against a kubectl context: its recorded calls, or what fail() said. */
function tilt(subcommand: string, context = CONTEXT) {
  const result = Bun.spawnSync([bin, "Tiltfile", subcommand, context], { cwd: root, timeout: 10_000 });
  const calls: { fn: string; args: Any }[] =
    result.exitCode === 0 ? JSON.parse(result.stdout.toString()) : [];
  const all = (fn: string) => calls.filter((call) => call.fn === fn).map((call) => call.args);
  return { status: result.exitCode, stderr: result.stderr.toString(), all, one: (fn: string) => all(fn)[0] };
}

cfg.describeWith(GO && KUBECTL, "go, golang-starlark-dev and kubectl")("Tiltfile, run in Starlark", () => {
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), "tilt-starlark-")), "tilt-starlark");
    const env = { ...process.env, GO111MODULE: "off", GOPATH: STARLARK_GOPATH, GOFLAGS: "" };
    const build = Bun.spawnSync([GO ?? "go", "build", "-o", bin, "./test/support/tilt-starlark"], {
      cwd: root,
      env,
    });
    if (build.exitCode !== 0) throw new Error(`go build failed:\n${build.stderr}`);
  }, 120_000);
  afterAll(() => rmSync(join(bin, ".."), { recursive: true, force: true }));

  test("fails before touching anything unless kubectl's context is the kind cluster kind-up.sh creates", () => {
    const wrong = tilt("up", "docker-desktop");
    expect([wrong.status, wrong.stderr]).toEqual([1, expect.stringContaining(`not '${CONTEXT}'`)]);
    expect(tilt("up").one("allow_k8s_contexts")).toEqual({ contexts: CONTEXT });
    expect(read("scripts/kind-deploy.sh")).toMatch(new RegExp(`context=${CONTEXT}\\b`));
  });

  test("creates the Grafana Secret in that context on `tilt up` only: `tilt down` runs the file too", () => {
    expect(tilt("up").all("local")).toEqual([{ command: ["scripts/ensure-grafana-secret.sh", CONTEXT] }]);
    expect(tilt("down").all("local")).toEqual([]);
  });

  test("builds the Dockerfile stage it names, syncs code where that stage runs it, rebuilds on what it installs from", () => {
    const {
      ref,
      context,
      target,
      dockerfile = "Dockerfile",
      live_update: steps_,
    } = tilt("up").one("docker_build");
    expect([ref, existsSync(join(root, context, dockerfile))]).toEqual(["storage-api", true]);
    const [workdir] = steps(target, "WORKDIR").at(-1)?.args ?? [];
    const stage = stages.get(target) ?? [];
    const install = stage.findIndex(
      (step) => step.keyword === "RUN" && step.args.join(" ").startsWith("bun install"),
    );
    const manifests = stage.slice(0, install).filter((step) => step.keyword === "COPY");
    expect(install).toBeGreaterThan(0);
    for (const { fn, args } of steps_) {
      if (fn === "fall_back_on")
        expect(args.files).toEqual(manifests.flatMap((copy) => copy.args.slice(0, -1)));
      else {
        const folder = args.local_path.replace(/^\.\//, "");
        expect(steps(target, "COPY").map((copy) => copy.args)).toContainEqual([`${folder}/`, `./${folder}/`]);
        expect(args.remote_path).toBe(`${workdir}/${folder}`);
      }
    }
  });

  test("watches only files .dockerignore lets into the build context, which exist", () => {
    const allowed = read(".dockerignore")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1));
    const watched = tilt("up")
      .one("docker_build")
      .live_update.flatMap(({ fn, args }: Any) => (fn === "sync" ? [args.local_path] : args.files));
    for (const path of watched) expect(allowed).toContain(path.replace(/^\.\//, ""));
  });

  test("watch_file()s exactly the generator files kustomize() misses: `key=file` entries (Tilt watches the literal path)", () => {
    const kustomizations = cfg.repoFiles.filter((path) => path.endsWith("kustomization.yaml"));
    const missed = kustomizations.flatMap((path) =>
      (parse(read(path)).configMapGenerator ?? []).flatMap((generator: Any) =>
        [
          ...(generator.files ?? []).filter((file: string) => file.includes("=")),
          ...(generator.envs ?? []),
        ].map((file: string) => join(path, "..", file.split("=").at(-1) ?? "")),
      ),
    );
    expect(
      tilt("up")
        .all("watch_file")
        .map((call) => call.file_path)
        .sort(),
    ).toEqual(missed.sort());
    for (const path of missed) expect(existsSync(join(root, path))).toBe(true);
  });

  test("deploys a kustomization whose workloads are exactly its resources, the built image used by the API alone", () => {
    const run = tilt("up");
    const rendered = cfg.workloads(cfg.render(run.one("k8s_yaml").yaml.args.pathToDir));
    expect(
      run
        .all("k8s_resource")
        .map((resource) => resource.workload)
        .sort(),
    ).toEqual(rendered.map((item) => item.name).sort());
    const users = rendered.filter((item) =>
      item.containers.some((c) => cfg.splitImage(c.image)[0] === run.one("docker_build").ref),
    );
    expect(users.map((item) => item.name)).toEqual(["storage-api"]);
  });

  test("forwards one distinct local port per resource to a port its containers declare", () => {
    const run = tilt("up");
    const rendered = cfg.workloads(cfg.render(run.one("k8s_yaml").yaml.args.pathToDir));
    const forwards = run
      .all("k8s_resource")
      .flatMap((resource) =>
        resource.port_forwards.map(({ args }: Any) => ({ ...args, workload: resource.workload })),
      );
    expect(new Set(forwards.map((forward) => forward.local_port)).size).toBe(run.all("k8s_resource").length);
    for (const { workload: name, container_port } of forwards) {
      const declared = rendered.find((item) => item.name === name)?.containers.flatMap((c) => c.ports ?? []);
      expect({
        name,
        declared: declared?.some((port: Any) => port.containerPort === container_port),
      }).toEqual({ name, declared: true });
    }
  });

  test("runs traffic (against the forwarded API) and the tests only on demand, after resources it defines", () => {
    const run = tilt("up");
    const names = [
      ...run.all("k8s_resource").map((r) => r.workload),
      ...run.all("local_resource").map((r) => r.name),
    ];
    const api = run.all("k8s_resource").find((resource) => resource.workload === "storage-api");
    for (const resource of run.all("local_resource")) {
      expect(resource).toMatchObject({ trigger_mode: "TRIGGER_MODE_MANUAL", auto_init: false });
      const [program] = resource.cmd;
      if (program.includes("/")) expect(statSync(join(root, program)).mode & 0o111).toBeGreaterThan(0);
    }
    for (const resource of [...run.all("k8s_resource"), ...run.all("local_resource")]) {
      for (const dependency of resource.resource_deps ?? []) expect(names).toContain(dependency);
    }
    const cmds = Object.fromEntries(
      run.all("local_resource").map((resource) => [resource.name, [resource.cmd, resource.resource_deps]]),
    );
    expect(cmds).toEqual({
      traffic: [
        ["scripts/generate_traffic.sh", `http://localhost:${api.port_forwards[0].args.local_port}`],
        ["storage-api"],
      ],
      tests: [["bun", "run", "test"], undefined],
    });
  });
});
