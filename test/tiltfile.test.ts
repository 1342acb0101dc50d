/**
 * The Tiltfile, checked from outside (Tilt itself needs Docker and a cluster): every path it names exists,
 * what it builds is what the manifests run, its resources are the rendered workloads, and its port
 * forwards reach ports those workloads declare. A small reader pulls the calls out of the Starlark text.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, normalize } from "node:path";
import { parse } from "yaml";
import { parseDockerfile, type Stage } from "./support/dockerfile";
import {
  describeWithKubectl,
  list,
  type Mapping,
  mapping,
  render,
  root,
  splitImage,
  text,
  workload,
  workloads,
} from "./support/k8s";

const read = (path: string) => readFileSync(join(root, path), "utf8");

/** The Tiltfile without comments (string contents kept, so a "#" inside quotes survives). */
function stripComments(source: string): string {
  let result = "";
  let quote: string | undefined;
  for (let index = 0; index < source.length; index++) {
    const char = source[index] ?? "";
    if (quote) {
      if (char === "\\") {
        result += char + (source[index + 1] ?? "");
        index++;
        continue;
      }
      if (char === quote) quote = undefined;
      result += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      result += char;
    } else if (char === "#") {
      while (index < source.length && source[index] !== "\n") index++;
      result += "\n";
    } else {
      result += char;
    }
  }
  return result;
}

/** The argument text of every call to `name(...)`, parentheses balanced, strings respected. */
function calls(source: string, name: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(new RegExp(`(?<![\\w.])${name}\\(`, "g"))) {
    let depth = 1;
    let quote: string | undefined;
    let index = (match.index ?? 0) + match[0].length;
    const start = index;
    for (; index < source.length && depth > 0; index++) {
      const char = source[index];
      if (quote) {
        if (char === "\\") index++;
        else if (char === quote) quote = undefined;
      } else if (char === "'" || char === '"') quote = char;
      else if (char === "(" || char === "[") depth++;
      else if (char === ")" || char === "]") depth--;
    }
    found.push(source.slice(start, index - 1));
  }
  return found;
}

/** The string literals in a piece of Starlark, in order. */
const strings = (args: string) => [...args.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? "");

/** The value of a keyword argument written as a list of strings or a single string. */
function keyword(args: string, name: string): string[] | undefined {
  const match = new RegExp(`(?<![\\w.])${name}\\s*=\\s*(\\[[^\\]]*\\]|'[^']*'|"[^"]*")`).exec(args);
  return match?.[1] === undefined ? undefined : strings(match[1]);
}

const tiltfile = stripComments(read("Tiltfile"));
const only = <T>(items: T[], what: string): T => {
  if (items.length !== 1) throw new Error(`expected exactly one ${what}, found ${items.length}`);
  return items[0] as T;
};

const dockerBuild = only(calls(tiltfile, "docker_build"), "docker_build()");
const [imageRef = "", buildContext = ""] = strings(dockerBuild.split(/\w+\s*=/)[0] ?? "");
const target = only(keyword(dockerBuild, "target") ?? [], "docker_build target");
const dockerfilePath = keyword(dockerBuild, "dockerfile")?.[0] ?? "Dockerfile";
const syncs = calls(dockerBuild, "sync").map((args) => strings(args) as [string, string]);
const fallBackOn = calls(dockerBuild, "fall_back_on").flatMap(strings);
const kustomizeDir = only(
  calls(tiltfile, "kustomize").map((args) => strings(args)[0] ?? ""),
  "kustomize()",
);
const kindContext = /^kind_context\s*=\s*'([^']+)'/m.exec(tiltfile)?.[1] ?? "";

interface Resource {
  name: string;
  forwards: { local: number; container: number }[];
  resourceDeps: string[];
}
const k8sResources: Resource[] = calls(tiltfile, "k8s_resource").map((args) => ({
  name: strings(args)[0] ?? "",
  forwards: calls(args, "port_forward").map((forward) => {
    const [local, container] = forward.split(",").map((part) => Number(part.trim()));
    return { local: local ?? Number.NaN, container: container ?? Number.NaN };
  }),
  resourceDeps: keyword(args, "resource_deps") ?? [],
}));
const localResources = calls(tiltfile, "local_resource").map((args) => ({
  name: strings(args)[0] ?? "",
  cmd: keyword(args, "cmd") ?? [],
  manual: /trigger_mode\s*=\s*TRIGGER_MODE_MANUAL/.test(args),
  autoInit: !/auto_init\s*=\s*False/.test(args),
  resourceDeps: keyword(args, "resource_deps") ?? [],
}));
const localCommands = calls(tiltfile, "local").map((args) => strings(args));

const dockerfile = parseDockerfile(read(dockerfilePath));
const stage = (name: string): Stage => {
  const found = dockerfile.stages.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`the Dockerfile has no stage named ${name}`);
  return found;
};
const isExecutable = (path: string) => (statSync(join(root, path)).mode & 0o111) !== 0;
const commandPaths = [...localCommands, ...localResources.map((resource) => resource.cmd)]
  .map((command) => command[0] ?? "")
  .filter((program) => program.includes("/"));

/** The file names kustomize (and so Tilt) accepts as a folder's kustomization. */
const KUSTOMIZATION_NAMES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

function kustomization(dir: string): { path: string; content: Mapping } {
  const path = KUSTOMIZATION_NAMES.map((name) => join(dir, name)).find((candidate) =>
    existsSync(join(root, candidate)),
  );
  if (!path) throw new Error(`no kustomization in ${dir}`);
  return { path, content: mapping(parse(read(path)), path) };
}

const entries = (value: unknown, what: string) => list(value ?? [], what).map((entry) => text(entry, what));

/**
 * The paths Tilt's kustomize() watches, computed as tilt-dev/tilt internal/kustomize/dependencies.go does:
 * resources, bases and components (folders recursively), the kustomization itself, patch and CRD files, and
 * configMapGenerator `files` entries joined to the folder verbatim, so `key=file` yields a path that does not
 * exist. Generator `envs` and secretGenerator are not watched at all.
 */
function tiltKustomizeDeps(dir: string): string[] {
  const { path, content } = kustomization(dir);
  const deps: string[] = [];
  const under = (entry: string) => normalize(join(dir, entry));
  for (const entry of ["bases", "components", "resources"].flatMap((key) => entries(content[key], key))) {
    const target = under(entry);
    if (existsSync(join(root, target)) && statSync(join(root, target)).isDirectory()) {
      deps.push(...tiltKustomizeDeps(target));
    } else deps.push(target);
  }
  deps.push(path);
  for (const patch of list(content.patches ?? [], "patches").map((entry) => mapping(entry, "patch"))) {
    if (typeof patch.path === "string") deps.push(under(patch.path));
  }
  deps.push(...entries(content.patchesStrategicMerge, "patchesStrategicMerge").map(under));
  deps.push(...entries(content.crds, "crds").map(under));
  for (const patch of list(content.patchesJson6902 ?? [], "patchesJson6902").map((entry) =>
    mapping(entry, "patch"),
  )) {
    deps.push(under(text(patch.path, "patchesJson6902 path")));
  }
  for (const generator of list(content.configMapGenerator ?? [], "configMapGenerator")) {
    deps.push(...entries(mapping(generator, "configMapGenerator").files, "files").map(under));
  }
  return deps;
}

/** Every file a ConfigMap or Secret generator reads, in every kustomization under the given folders. */
function generatorSources(folders: string[]) {
  const kustomizations = folders.flatMap((folder) =>
    readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
      .filter((file) => KUSTOMIZATION_NAMES.includes(basename(file)))
      .map((file) => join(folder, file)),
  );
  return kustomizations.flatMap((path) => {
    const dir = normalize(join(path, ".."));
    const content = mapping(parse(read(path)), path);
    const generators = ["configMapGenerator", "secretGenerator"].flatMap((key) =>
      list(content[key] ?? [], key).map((generator) => mapping(generator, key)),
    );
    return generators.flatMap((generator) =>
      [
        // kustomize splits `key=file` at the first "=".
        ...entries(generator.files, "files").map((entry) => ({
          path,
          entry,
          file: entry.slice(entry.indexOf("=") + 1),
        })),
        ...[...entries(generator.envs, "envs"), ...(generator.env ? [text(generator.env, "env")] : [])].map(
          (entry) => ({
            path,
            entry,
            file: entry,
          }),
        ),
      ].map((source) => ({ ...source, file: normalize(join(dir, source.file)) })),
    );
  });
}

const watchFiles = calls(tiltfile, "watch_file").map((args) => normalize(strings(args)[0] ?? ""));

describe("Tiltfile", () => {
  test("the reader found what the checks below rely on", () => {
    expect(imageRef).not.toBe("");
    expect(syncs.length).toBeGreaterThan(0);
    expect(fallBackOn.length).toBeGreaterThan(0);
    expect(k8sResources.length).toBeGreaterThan(0);
    expect(localResources.map((resource) => resource.name).sort()).toEqual(["tests", "traffic"]);
  });

  test("every path it references exists: build context, Dockerfile, synced paths, kustomization, scripts", () => {
    expect(statSync(join(root, buildContext)).isDirectory()).toBe(true);
    expect(existsSync(join(root, dockerfilePath))).toBe(true);
    for (const [local] of syncs)
      expect({ local, exists: existsSync(join(root, local)) }).toEqual({ local, exists: true });
    for (const file of fallBackOn)
      expect({ file, exists: existsSync(join(root, file)) }).toEqual({ file, exists: true });
    expect(existsSync(join(root, kustomizeDir, "kustomization.yaml"))).toBe(true);
    expect(commandPaths.length).toBeGreaterThan(0);
    for (const script of commandPaths) {
      expect({ script, executable: existsSync(join(root, script)) && isExecutable(script) }).toEqual({
        script,
        executable: true,
      });
    }
  });

  test("builds a Dockerfile stage that exists, and syncs into the folder that stage runs the code from", () => {
    const dev = stage(target);
    const workdir = dev.instructions.filter((instruction) => instruction.keyword === "WORKDIR").at(-1)?.args;
    for (const [local, remote] of syncs) {
      const name = local.replace(/^\.\//, "");
      // The stage copies that folder to the same place the live update writes to.
      const copies = dev.instructions.filter(
        (instruction) => instruction.keyword === "COPY" && instruction.args.split(/\s+/).includes(`${name}/`),
      );
      expect({ local, copied: copies.length }).toEqual({ local, copied: 1 });
      expect({ local, remote }).toEqual({ local, remote: `${workdir}/${name}` });
    }
  });

  test("falls back to a full build for exactly the files the dev stage installs dependencies from", () => {
    const dev = stage(target).instructions;
    const install = dev.findIndex(
      (instruction) => instruction.keyword === "RUN" && /bun install/.test(instruction.args),
    );
    expect(install).toBeGreaterThan(0);
    const copiedBefore = dev
      .slice(0, install)
      .filter((instruction) => instruction.keyword === "COPY")
      .flatMap((instruction) => {
        const sources = instruction.args.split(/\s+/).filter((arg) => !arg.startsWith("--"));
        return sources.slice(0, -1);
      });
    expect(fallBackOn.sort()).toEqual(copiedBefore.sort());
  });

  test("watches only files that .dockerignore lets into the build context (Tilt ignores the rest)", () => {
    const allowed = read(".dockerignore")
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1));
    for (const path of [...syncs.map(([local]) => local), ...fallBackOn]) {
      const name = path.replace(/^\.\//, "");
      expect({ name, allowed: allowed.includes(name) }).toEqual({ name, allowed: true });
    }
  });

  test("watches every file a kustomization generates from: through kustomize() or an explicit watch_file", () => {
    const deps = tiltKustomizeDeps(kustomizeDir);
    const covers = (paths: string[], file: string) =>
      paths.some((path) => file === path || file.startsWith(`${path}/`));
    const sources = generatorSources(["k8s", "prometheus", "grafana", "dashboards"]);
    expect(sources.length).toBeGreaterThan(0);
    for (const { path, entry, file } of sources) {
      // Tilt renders that kustomization at all, and its file exists.
      expect({ path, rendered: deps.includes(path), exists: existsSync(join(root, file)) }).toEqual({
        path,
        rendered: true,
        exists: true,
      });
      expect({ path, entry, watched: covers(deps, file) || covers(watchFiles, file) }).toEqual({
        path,
        entry,
        watched: true,
      });
    }
  });

  test("watch_file()s only existing generator files that kustomize() would not watch by itself", () => {
    const deps = tiltKustomizeDeps(kustomizeDir);
    const files = generatorSources(["k8s", "prometheus", "grafana", "dashboards"]).map(
      (source) => source.file,
    );
    for (const file of watchFiles) {
      expect({
        file,
        exists: existsSync(join(root, file)),
        generated: files.includes(file),
        redundant: deps.includes(file),
      }).toEqual({
        file,
        exists: true,
        generated: true,
        redundant: false,
      });
    }
  });

  test("refuses every kubectl context but the kind cluster scripts/kind-up.sh creates", () => {
    const cluster = /^readonly cluster=(\S+)$/m.exec(read("scripts/kind-up.sh"))?.[1] ?? "";
    expect(cluster).not.toBe("");
    expect(kindContext).toBe(`kind-${cluster}`);
    expect(/readonly cluster=(\S+) context=(\S+)/.exec(read("scripts/kind-deploy.sh"))?.slice(1)).toEqual([
      cluster,
      kindContext,
    ]);
    expect(tiltfile).toMatch(/if k8s_context\(\) != kind_context:\s*\n\s+fail\(/);
    expect(calls(tiltfile, "allow_k8s_contexts")).toEqual(["kind_context"]);
    // The Secret script is pointed at the same cluster.
    expect(localCommands).toContainEqual(["scripts/ensure-grafana-secret.sh"]);
    expect(tiltfile).toMatch(/local\(\['scripts\/ensure-grafana-secret\.sh', kind_context\]\)/);
  });

  test("runs traffic and tests only on demand; traffic against the forwarded API port", () => {
    for (const resource of localResources) {
      expect({ name: resource.name, manual: resource.manual, autoInit: resource.autoInit }).toEqual({
        name: resource.name,
        manual: true,
        autoInit: false,
      });
    }
    const traffic = only(
      localResources.filter((resource) => resource.name === "traffic"),
      "traffic resource",
    );
    const apiForward = k8sResources.find((resource) => resource.name === "storage-api")?.forwards[0];
    expect(traffic.cmd).toEqual(["scripts/generate_traffic.sh", `http://localhost:${apiForward?.local}`]);
    expect(traffic.resourceDeps).toEqual(["storage-api"]);
    const tests = only(
      localResources.filter((resource) => resource.name === "tests"),
      "tests resource",
    );
    expect(tests.cmd).toEqual(["bun", "run", "test"]);
    const scripts = mapping(mapping(JSON.parse(read("package.json")), "package.json").scripts, "scripts");
    expect(typeof scripts.test).toBe("string");
  });

  test("depends only on resources it defines", () => {
    const names = [...k8sResources, ...localResources].map((resource) => resource.name);
    for (const resource of [...k8sResources, ...localResources]) {
      for (const dependency of resource.resourceDeps) {
        expect({ resource: resource.name, dependency, defined: names.includes(dependency) }).toEqual({
          resource: resource.name,
          dependency,
          defined: true,
        });
      }
    }
  });
});

describeWithKubectl()(`Tiltfile against kubectl kustomize ${kustomizeDir}`, () => {
  test("builds the image the API Deployment runs (Tilt matches by repository, ignoring the tag)", () => {
    const images = workloads(render(kustomizeDir)).flatMap(({ name, containers }) =>
      containers.map((container) => ({ name, repository: splitImage(text(container.image, "image"))[0] })),
    );
    expect(images.filter((image) => image.repository === imageRef)).toEqual([
      { name: "storage-api", repository: imageRef },
    ]);
  });

  test("configures every workload of the render, and only those", () => {
    const deployments = workloads(render(kustomizeDir)).map(({ name }) => name);
    expect(k8sResources.map((resource) => resource.name).sort()).toEqual(deployments.sort());
  });

  test("forwards each local port, once, to a port the workload's container declares", () => {
    const locals = k8sResources.flatMap((resource) => resource.forwards.map((forward) => forward.local));
    expect(new Set(locals).size).toBe(locals.length);
    for (const resource of k8sResources) {
      expect({ name: resource.name, forwards: resource.forwards.length }).toEqual({
        name: resource.name,
        forwards: 1,
      });
      const declared = workload(render(kustomizeDir), resource.name).containers.flatMap((container) =>
        list(container.ports ?? [], "ports").map((port) => mapping(port, "port").containerPort),
      );
      for (const forward of resource.forwards) {
        expect({ name: resource.name, declared: declared.includes(forward.container) }).toEqual({
          name: resource.name,
          declared: true,
        });
      }
    }
  });
});
