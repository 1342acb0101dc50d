/**
 * Interleaved alone: two servers take turns, each alone on the server CPU, many times a second.
 *
 * Both servers share CPU 1 and both wrk processes CPU 0, but only one wrk runs at a time: the other is
 * paused with SIGSTOP, so its server sits idle in epoll. Every `sliceMs` they swap. Each server thus
 * works alone, as it does when deployed, while the machine's drift (±30 % over seconds here) hits both
 * alike because their turns alternate faster than it moves. CPU time per request is each server's
 * utime + stime over the whole round divided by the requests its wrk completed (an idle server uses
 * next to no CPU). Latency is not reported: a paused wrk's clock keeps running.
 */
import { checkAnswers } from "./measure";
import { cpuSecondsBetween, cpuTicks, type Server } from "./processes";
import { startWrk } from "./wrk";

export interface InterleavedPart {
  label: string;
  requests: number;
  cpu_us_per_req: number;
  user_us_per_req: number;
}

export interface InterleavedRound {
  round: number;
  pair: string;
  a: InterleavedPart;
  b: InterleavedPart;
}

export async function measureInterleaved(
  a: Server,
  b: Server,
  seconds: number,
  sliceMs: number,
  wrkCpu: number | undefined,
  ticksPerSecond: number,
  round: number,
): Promise<InterleavedRound> {
  const before = [cpuTicks(a.pid), cpuTicks(b.pid)];
  const wa = startWrk(a.port, seconds, wrkCpu);
  const wb = startWrk(b.port, seconds, wrkCpu);
  // Who goes first alternates by round, so neither always gets the first or the last slice.
  let active = round % 2 === 0 ? wa : wb;
  let paused = active === wa ? wb : wa;
  paused.child.kill("SIGSTOP");
  const end = performance.now() + seconds * 1000 - sliceMs;
  while (performance.now() < end) {
    await Bun.sleep(sliceMs);
    active.child.kill("SIGSTOP");
    paused.child.kill("SIGCONT");
    [active, paused] = [paused, active];
  }
  // Both run to the end of their -d duration; the last moments overlap, as they do for both.
  paused.child.kill("SIGCONT");
  const [ra, rb] = await Promise.all([wa.result, wb.result]);
  const after = [cpuTicks(a.pid), cpuTicks(b.pid)];
  checkAnswers(a.label, ra);
  checkAnswers(b.label, rb);
  const part = (i: number, label: string, requests: number): InterleavedPart => {
    const { user, system } = cpuSecondsBetween(
      before[i] as { user: number; system: number },
      after[i] as { user: number; system: number },
      ticksPerSecond,
    );
    return {
      label,
      requests,
      cpu_us_per_req: ((user + system) * 1e6) / requests,
      user_us_per_req: (user * 1e6) / requests,
    };
  };
  return {
    round,
    pair: `${a.label} vs ${b.label}`,
    a: part(0, a.label, ra.requests),
    b: part(1, b.label, rb.requests),
  };
}
