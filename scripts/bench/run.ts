// `bun run bench [-- --rounds 12 --seconds 6]`: what the metrics cost (docs/performance.md: how to read it).
// BENCH_SERVICE_DIR=<root of another checkout> adds `service@<dir>`, compared with this checkout's service.
import { readFileSync } from "node:fs";
import { availableParallelism, release } from "node:os";
import { interleave, TURN_MS } from "./interleave";
import { memoryPerObject } from "./memory";
import { checkMetrics } from "./metrics-check";
import { benchOptions } from "./options";
import { type Server, startServer, stopAll } from "./proc";
import { startRedis } from "./redis";
import { type Comparison, comparisonTable, memoryTable, metricsTable, variantTable, version } from "./report";
import { num } from "./stats";
import { CONNECTIONS, runWrk, type WrkResult, wrkVersion } from "./wrk";

const { rounds: ROUNDS, seconds: SECONDS } = benchOptions();
const [ALONE_SECONDS, MEMORY_RUNS] = [3, 3];
const TWIN = "service (2nd process)";
const other = process.env.BENCH_SERVICE_DIR ? [`service@${process.env.BENCH_SERVICE_DIR}`] : [];
const labels = ["service", TWIN, "service-no-metrics", "service-redis", "minimal", "peer", ...other];
const aaPair: Comparison = { a: "service", b: TWIN, what: "two processes of one variant (A/A)", rounds: [] };
const comparisons: Comparison[] = [
  { a: "service", b: "service-no-metrics", what: "the metrics' cost", rounds: [] },
  { a: "service", b: "minimal", what: "the whole service's overhead", budget: true, rounds: [] },
  { a: "peer", b: "service-no-metrics", what: "the peer plugin's cost", rounds: [] },
  { a: "service-redis", b: "service", what: "the API's own cost of a Redis store", rounds: [] },
  aaPair,
  ...other.map((a) => ({ a, b: "service", what: "the other checkout against this one", rounds: [] })),
];

const started = performance.now();
const date = new Date().toISOString();
const seconds = () => num((performance.now() - started) / 1000, 0);
const progress = (what: string) => console.error(`[${seconds()} s] ${what}`);
const loadAverage = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1];
const machine = `${cpuModel}, ${availableParallelism()} cores, Linux ${release()}; Bun ${Bun.version}, Elysia \
${version("elysia")}, prom-client ${version("prom-client")}, peer plugin elysia-prometheus \
${version("elysia-prometheus")}; ${wrkVersion()}. Load average at start: ${loadAverage()}.`;
const alone = new Map<string, WrkResult[]>(labels.map((label) => [label, []]));
const memory = [
  { count: 10_000, size: 100, runs: [] as { rss: number; heap: number }[] },
  { count: 200, size: 1 << 20, runs: [] as { rss: number; heap: number }[] },
];
let metrics: Awaited<ReturnType<typeof checkMetrics>>;
try {
  progress("/metrics check");
  metrics = await checkMetrics();
  for (const c of memory) {
    progress(`memory, ${c.count} objects of ${c.size} bytes`);
    for (let i = 0; i < MEMORY_RUNS; i++) c.runs.push(await memoryPerObject(c.count, c.size));
  }
  process.env.BENCH_REDIS_URL = await startRedis();
  const servers = new Map<string, Server>();
  for (const label of labels)
    servers.set(label, await startServer(label === TWIN ? "service" : label, label));
  const server = (label: string) => servers.get(label) as Server;
  progress("warm-up, then each variant alone, twice");
  for (const s of servers.values()) await runWrk(s.base, ALONE_SECONDS);
  for (const label of [...labels, ...labels.toReversed()]) {
    alone.get(label)?.push(await runWrk(server(label).base, ALONE_SECONDS));
  }
  for (let round = 0; round < ROUNDS; round++) {
    progress(`round ${round + 1} of ${ROUNDS}`);
    // The pairs rotated and who starts swapped every round, so no order or position favours a variant.
    for (let i = 0; i < comparisons.length; i++) {
      const c = comparisons[(i + round) % comparisons.length] as Comparison;
      c.rounds.push(await interleave(server(c.a), server(c.b), SECONDS, round % 2 === 0));
    }
  }
} finally {
  await stopAll();
}

console.log(`# Storage API benchmark, ${date.slice(0, 16).replace("T", " ")} UTC

${machine}

Server CPU per request: median of ${ROUNDS} rounds of ${SECONDS} s per pair, ${TURN_MS} ms turns each. req/s and \
latency: wrk -t${CONNECTIONS} -c${CONNECTIONS}, each variant alone, median of 2 runs of ${ALONE_SECONDS} s.

${variantTable(comparisons, alone)}

Differences: median (min … max) over the rounds; noise floor: the A/A pair's largest deviation.

${comparisonTable(comparisons, aaPair)}

${metricsTable(metrics)}

Memory: a fresh \`service\` per run, PUTs over HTTP, full GC before and after; median of ${MEMORY_RUNS} runs.

${memoryTable(memory)}

Load average at end: ${loadAverage()}. Wall time: ${seconds()} s.`);
process.exit(metrics.seriesBefore === metrics.seriesAfter ? 0 : 1);
