/**
 * Every script a user runs (scripts/*.sh, scripts/*.ts and the package.json scripts that start a file under
 * scripts/) answers --help, refuses what it does not know in one line and names a missing tool. They run
 * with only the shell's basics on PATH, so a --help that went on to start docker or curl would fail here.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { read, root } from "./support/repo";
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

function run(name: string, args: string[], env: Record<string, string> = {}) {
  const [command, ...rest] = scripts[name] ?? [];
  const result = spawnSync(command ?? "", [...rest, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 15_000,
    env: { ...process.env, PATH: bin, ...env },
  });
  const stderr = result.stderr.trim();
  const said = `${name} ${args.join(" ")}: exit ${result.status}, stderr ${JSON.stringify(stderr)}`;
  const failedInOneLine = result.status !== 0 && result.status !== null && /^[^\n]+$/.test(stderr);
  return { ...result, stderr, said, failedInOneLine };
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
