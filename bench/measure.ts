/**
 * One measurement: wrk drives one or more servers at the same time for the same duration; for each server,
 * its CPU time per request from /proc/<pid>/stat, its throughput and wrk's latency percentiles.
 *
 * Alone (one server) it gives the variant's own throughput and latency. Side by side (two servers on the
 * same CPU, each with its own wrk) both live through the very same seconds of the machine's noise, which
 * is what makes a difference of a microsecond measurable here (docs/performance.md).
 */
import { cpuSecondsBetween, cpuTicks, machineBusyTicks, type Server } from "./processes";
import type { Variant } from "./serve";
import { runWrk, type WrkResult } from "./wrk";

export interface Sample {
  label: string;
  variant: Variant;
  requests: number;
  req_per_s: number;
  /** Server CPU time (utime + stime) per request: the figure the goals are about. */
  cpu_us_per_req: number;
  /** Its two parts; on loopback the kernel's TCP work for both ends is a large share of stime. */
  user_us_per_req: number;
  sys_us_per_req: number;
  /** Server CPU time / wall time: near 1.0 alone means the server, not wrk, was the bottleneck. */
  server_cpu_share: number;
  wrk_cpu_share: number;
  latency_p50_us: number;
  latency_p99_us: number;
  wrk: WrkResult;
}

export interface Measurement {
  samples: Sample[];
  /** CPU used by every other process on the machine meanwhile, in CPUs: the noise of this measurement. */
  other_cpu_share: number;
}

export async function measure(
  servers: readonly Server[],
  seconds: number,
  wrkCpu: number | undefined,
  ticksPerSecond: number,
): Promise<Measurement> {
  const before = servers.map((s) => cpuTicks(s.pid));
  const machineBefore = machineBusyTicks();
  const start = performance.now();
  const results = await Promise.all(servers.map((s) => runWrk(s.port, seconds, wrkCpu)));
  const wall = (performance.now() - start) / 1000;
  const after = servers.map((s) => cpuTicks(s.pid));
  const machine = (machineBusyTicks() - machineBefore) / ticksPerSecond;

  let accounted = 0;
  const samples = servers.map((server, i) => {
    const wrk = results[i] as WrkResult;
    checkAnswers(server.label, wrk);
    const { user, system } = cpuSecondsBetween(
      before[i] as { user: number; system: number },
      after[i] as { user: number; system: number },
      ticksPerSecond,
    );
    accounted += user + system + wrk.cpu_seconds;
    const perRequest = (cpuSeconds: number) => (cpuSeconds * 1e6) / wrk.requests;
    return {
      label: server.label,
      variant: server.variant,
      requests: wrk.requests,
      req_per_s: wrk.requests / (wrk.duration_us / 1e6),
      cpu_us_per_req: perRequest(user + system),
      user_us_per_req: perRequest(user),
      sys_us_per_req: perRequest(system),
      server_cpu_share: (user + system) / wall,
      wrk_cpu_share: wrk.cpu_seconds / wall,
      latency_p50_us: wrk.latency_p50_us,
      latency_p99_us: wrk.latency_p99_us,
      wrk,
    };
  });
  return { samples, other_cpu_share: Math.max(0, machine - accounted) / wall };
}

/** Stops the benchmark on a single wrong answer, socket error or timeout: such a run measures nothing. */
export function checkAnswers(label: string, wrk: WrkResult): void {
  const e = wrk.errors;
  if (
    wrk.unexpected > 0 ||
    e.status + e.connect + e.read + e.write + e.timeout > 0 ||
    wrk.checked < wrk.requests
  ) {
    throw new Error(
      `${label}: wrong answers, so the figures would be meaningless: ${wrk.unexpected} unexpected ` +
        `(first: ${wrk.first_unexpected || "none"}), wrk errors ${JSON.stringify(e)}`,
    );
  }
}
