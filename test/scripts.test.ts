/**
 * Every script a user runs (scripts/*.sh, scripts/*.ts and the package.json scripts that start a file under
 * scripts/) answers --help, refuses what it does not know in one line and names a missing tool. They run
 * with only the shell's basics on PATH, so a --help that went on to start docker or curl would fail here.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { KUBECTL } from "./support/prerequisites";
import * as cfg from "./support/render";
import { type Any, read, root } from "./support/repo";
import { startServer } from "./support/server";

const inScripts = readdirSync(join(root, "scripts")).flatMap((name): [string, string[]][] => {
  if (name.endsWith(".sh")) return [[name, ["bash", `scripts/${name}`]]];
  return name.endsWith(".ts") ? [[name, [process.execPath, `scripts/${name}`]]] : [];
});
const fromPackage = Object.entries(JSON.parse(read("package.json")).scripts as Record<string, string>)
  .filter(([, command]) => command.startsWith("bun scripts/"))
  .map(([name, command]): [string, string[]] => [name, [process.execPath, ...command.split(" ").slice(1)]]);
const scripts = Object.fromEntries([...inScripts, ...fromPackage]);

/** The scripts that need a tool beyond Bun, with the arguments that get them as far as looking for it. */
const needsTools: Record<string, string[]> = {
  ...Object.fromEntries(
    ["generate_traffic.sh", "kind-up.sh", "kind-down.sh", "kind-deploy.sh"].map((n) => [n, []]),
  ),
  "ensure-grafana-secret.sh": ["kind-storage-api"],
  bench: [],
  "dashboard:preview": [],
};
const BASICS = "bash env dirname sed grep head base64 cat date seq sort uniq awk xargs getconf".split(" ");
let bin = "";

type Env = Record<string, string>;
/** Runs a script on the basics alone, plus stand-ins (`fakes`) that log their calls to $FAKE/<name>.calls. */
function run(name: string, args: string[], env: Env = {}, fakes: Env = {}) {
  const [command, ...rest] = scripts[name] ?? [];
  const fake = mkdtempSync(join(bin, "stand-ins-")); // removed with bin
  for (const [tool, body] of Object.entries(fakes)) {
    const script = `#!/usr/bin/env bash\necho "$*" >> "$FAKE/${tool}.calls"\n${body}\n`;
    writeFileSync(join(fake, tool), script, { mode: 0o755 });
  }
  const result = spawnSync(command ?? "", [...rest, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 15_000,
    env: { ...process.env, PATH: `${fake}:${bin}`, FAKE: fake, ...env },
  });
  const file = (name: string) => readFileSync(join(fake, name), { encoding: "utf8", flag: "a+" });
  const calls = file(`${Object.keys(fakes)[0]}.calls`)
    .split("\n")
    .filter(Boolean);
  const created: Any[] = parseAllDocuments(file("created.yaml")).map((document) => document.toJS());
  const stderr = result.stderr.trim();
  const said = `${name} ${args.join(" ")}: exit ${result.status}, stderr ${JSON.stringify(stderr)}`;
  const failedInOneLine = result.status !== 0 && result.status !== null && /^[^\n]+$/.test(stderr);
  return { ...result, stderr, said, failedInOneLine, calls, created };
}

beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), "basics-"));
  for (const tool of BASICS) symlinkSync(Bun.which(tool) ?? `/missing/${tool}`, join(bin, tool));
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

test("the scripts are found: shell scripts, TypeScript tools, bench and dashboard:preview", () => {
  expect(Object.keys(scripts)).toEqual(
    expect.arrayContaining(["memory-attacks.ts", ...Object.keys(needsTools)]),
  );
});

test("every script prints its usage for -h and --help and exits 0, without running any tool", () => {
  const wrong = Object.keys(scripts).flatMap((name) =>
    ["-h", "--help"]
      .map((flag) => run(name, [flag]))
      .filter((r) => r.status !== 0 || !/usage/i.test(r.stdout) || r.stderr !== ""),
  );
  expect(wrong.map((r) => r.said)).toEqual([]);
});

test("every script refuses an unknown option with one line on stderr and a non-zero exit", () => {
  const wrong = Object.keys(scripts).map((name) => run(name, ["--no-such-option"]));
  expect(wrong.filter((r) => !r.failedInOneLine).map((r) => r.said)).toEqual([]);
});

test("every script that needs a tool names the one it cannot find, in one line", () => {
  const results = Object.entries(needsTools).map(([name, args]) => run(name, args));
  const named = (stderr: string) => /'([\w-]+)' is not installed/.exec(stderr)?.[1] ?? "bash";
  const wrong = results.filter((r) => !r.failedInOneLine || BASICS.includes(named(r.stderr)));
  expect(wrong.map((r) => r.said)).toEqual([]);
});

test("dashboard:preview refuses a PREVIEW_TRAFFIC_MINUTES that is not a positive number", () => {
  for (const minutes of ["abc", "0", "-1"]) {
    const { status, stderr } = run("dashboard:preview", [], { PREVIEW_TRAFFIC_MINUTES: minutes });
    expect({ status, stderr }).toEqual({
      status: 2,
      stderr: `dashboard:preview: PREVIEW_TRAFFIC_MINUTES must be a positive number, got '${minutes}'`,
    });
  }
});

test("generate_traffic.sh takes a base URL ending in / and fewer cycles than its 8 workers", async () => {
  const server = await startServer();
  try {
    const { status, stdout } = run("generate_traffic.sh", [`${server.url}/`, "3"], {
      PATH: process.env.PATH ?? "",
    });
    expect(status).toBe(0);
    expect(stdout).toMatch(/ DELETE +204 +3\n +GET +200 +3\n +PUT +200 +3\n/);
  } finally {
    await server.stop();
  }
});

describe.skipIf(!KUBECTL)("scripts/ensure-grafana-secret.sh", () => {
  const kubectl = `case "$*" in
  *" get namespace "*) [[ "$NAMESPACE" == present ]] ;;
  *" get secret "*) [[ "$SECRET" == present ]] ;;
  *" create -f -"*) cat > "$FAKE/created.yaml" ;;
  *" apply -f "*) ;;
  *) exit 3 ;;
esac`;
  const ensure = (NAMESPACE: string, SECRET: string) =>
    run("ensure-grafana-secret.sh", ["kind-storage-api"], { NAMESPACE, SECRET }, { kubectl });

  test("creates the namespace, then the Secret Grafana reads, in the given context, a random password off command lines", async () => {
    const [first, second] = [ensure("absent", "absent"), ensure("present", "absent")];
    expect([first.status, first.calls[1]]).toEqual([
      0,
      `--context kind-storage-api apply -f ${root}/k8s/base/namespace.yaml`,
    ]);
    expect(await cfg.schemaViolations(first.created)).toEqual([]);
    const [{ metadata, stringData }] = first.created;
    expect([metadata.name, metadata.namespace]).toEqual(["grafana-admin", "storage-api"]);
    const env = cfg
      .workloads(cfg.render("k8s"))
      .flatMap((item) => item.containers.flatMap((container) => container.env ?? []));
    const references = env.flatMap(({ valueFrom: from }: Any) =>
      from?.secretKeyRef ? [from.secretKeyRef] : [],
    );
    const keys = Object.keys(stringData).map((key) => `grafana-admin/${key}`);
    expect(references.map(({ name, key }: Any) => `${name}/${key}`).sort()).toEqual(keys.sort());
    const password = stringData["admin-password"];
    expect(password.length).toBeGreaterThanOrEqual(32);
    expect(
      first.calls.filter(
        (call) => call.includes(password) || !call.startsWith("--context kind-storage-api "),
      ),
    ).toEqual([]);
    expect(second.created[0].stringData["admin-password"]).not.toBe(password);
    // namespace.yaml is applied without kustomize: each object in it must name the namespace itself.
    const objects = parseAllDocuments(read("k8s/base/namespace.yaml")).map((document) => document.toJS());
    expect(
      objects.filter(({ kind, metadata }) => kind !== "Namespace" && metadata.namespace !== "storage-api"),
    ).toEqual([]);
  });

  test("leaves an existing Secret alone, so the password stays the same", () => {
    const { status, created, calls } = ensure("present", "present");
    const changes = calls.filter((call) => /\b(create|apply|delete|replace|patch)\b/.test(call));
    expect([status, created, changes]).toEqual([0, [], []]);
  });
});

test("scripts/kind-up.sh creates the cluster with any patch of the kind release it names, and stops on any other", () => {
  const release = /^readonly kind_release=(v\d+\.\d+)$/m.exec(read("scripts/kind-up.sh"))?.[1] ?? "none";
  expect(read("scripts/kind-up.sh")).toContain(`# kind ${release}.`); // the node image's comment names it
  const [major, minor] = release.slice(1).split(".").map(Number);
  const good = [
    `kind ${release}.0 go1.25.1 linux/amd64`,
    `kind ${release}.2-alpha.4+0123 go1.25.1 darwin/arm64`,
  ];
  const others = [
    `${major}.${Number(minor) - 1}.0`,
    `${major}.${Number(minor) + 1}.0`,
    `${major}.${minor}0.0`,
  ];
  for (const version of [...good, ...others.map((other) => `kind v${other} go`), "something else"]) {
    const kind = `[[ "$1" == version ]] && echo "$KIND_VERSION"; true`;
    const result = run("kind-up.sh", [], { KIND_VERSION: version }, { kind, docker: "", kubectl: "" });
    const created = result.calls.some((call) => call.startsWith("create cluster"));
    const named = [`needs kind ${release}.x`, version].every((part) => result.stderr.includes(part));
    const refused = !good.includes(version);
    expect({ version, status: result.status, created, named }).toEqual({
      version,
      status: refused ? 1 : 0,
      created: !refused,
      named: refused,
    });
  }
});
