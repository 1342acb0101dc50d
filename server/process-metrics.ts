/**
 * The standard `process_*` metrics, limited to the ones that are true under Bun.
 *
 * prom-client's collectDefaultMetrics() was probed under Bun 1.4.5 (docs/decisions.md): the CPU, start
 * time, resident memory and file-descriptor figures are real; `process_virtual_memory_bytes` and
 * `process_heap_bytes` (VmSize, VmData) are real numbers but, under JavaScriptCore, gigabytes of address-space
 * reservation that say nothing about use, so they are left out; the `nodejs_*`
 * family reports V8 heap spaces that JavaScriptCore does not have (all zero), zero active handles and
 * requests, and an event-loop lag of 0 from Node APIs Bun only emulates. It also starts an event-loop
 * monitor timer in every process. So this module registers the true ones itself, under the standard
 * names (so existing dashboards work), computed from process APIs and /proc at scrape time only.
 */
import { readdirSync, readFileSync } from "node:fs";
import { Counter, Gauge, type Registry } from "prom-client";

const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime());

function cpuCounter(name: string, help: string, registry: Registry, read: () => number): void {
  let reported = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      // Counters only go up: add what was used since the last scrape.
      const now = read();
      this.inc(Math.max(0, now - reported));
      reported = Math.max(reported, now);
    },
  });
}

/** Value of a field in /proc/self/limits, or undefined off Linux. */
function maxOpenFiles(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

function openFiles(): number | undefined {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

export function registerProcessMetrics(registry: Registry): void {
  cpuCounter(
    "process_cpu_user_seconds_total",
    "Total user CPU time spent in seconds.",
    registry,
    () => process.cpuUsage().user / 1e6,
  );
  cpuCounter(
    "process_cpu_system_seconds_total",
    "Total system CPU time spent in seconds.",
    registry,
    () => process.cpuUsage().system / 1e6,
  );
  cpuCounter(
    "process_cpu_seconds_total",
    "Total user and system CPU time spent in seconds.",
    registry,
    () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1e6;
    },
  );
  new Gauge({
    name: "process_start_time_seconds",
    help: "Start time of the process since unix epoch in seconds.",
    registers: [registry],
    collect() {
      this.set(startTimeSeconds);
    },
  });
  new Gauge({
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  const maxFds = maxOpenFiles();
  if (openFiles() !== undefined) {
    new Gauge({
      name: "process_open_fds",
      help: "Number of open file descriptors.",
      registers: [registry],
      collect() {
        // readdir itself holds one descriptor open while it lists the folder.
        this.set((openFiles() ?? 1) - 1);
      },
    });
  }
  if (maxFds !== undefined) {
    new Gauge({
      name: "process_max_fds",
      help: "Maximum number of open file descriptors.",
      registers: [registry],
      collect() {
        this.set(maxFds);
      },
    });
  }
}
