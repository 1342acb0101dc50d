/** What the figures were measured on: CPU, cores, load, versions and date, for the report and the JSON. */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import elysia from "elysia/package.json" with { type: "json" };
import promClient from "prom-client/package.json" with { type: "json" };

export interface Machine {
  cpuModel: string;
  cores: number;
  kernel: string;
  bun: string;
  elysia: string;
  promClient: string;
  date: string;
}

export function describeMachine(): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: availableParallelism(),
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    elysia: elysia.version,
    promClient: promClient.version,
    date: new Date().toISOString(),
  };
}

/** The 1-, 5- and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [one, five, fifteen] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [one ?? Number.NaN, five ?? Number.NaN, fifteen ?? Number.NaN];
}
