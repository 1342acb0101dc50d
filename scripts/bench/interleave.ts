// One round of a pair: each server has its own wrk, one running while the other is paused (SIGSTOP). 200 ms
// turns swap faster than the machine's load changes: both live through the same noise, each working alone.
import { cpuSeconds, type Server } from "./proc";
import { startWrk } from "./wrk";

export const TURN_MS = 200;

/** Server CPU µs per request of a and b over one round: Δ(utime + stime) / requests answered. */
export async function interleave(a: Server, b: Server, seconds: number, aFirst: boolean) {
  const before = [cpuSeconds(a.pid), cpuSeconds(b.pid)] as const;
  const runs = [startWrk(a.base, seconds), startWrk(b.base, seconds)] as const;
  let [active, paused] = aFirst ? [runs[0], runs[1]] : [runs[1], runs[0]];
  paused.child.kill("SIGSTOP");
  for (const end = performance.now() + seconds * 1000 - TURN_MS; performance.now() < end; ) {
    await Bun.sleep(TURN_MS);
    active.child.kill("SIGSTOP");
    paused.child.kill("SIGCONT");
    [active, paused] = [paused, active];
  }
  // Both run out their -d from here on: the overlap is the same short moment for both.
  paused.child.kill("SIGCONT");
  const [ra, rb] = await Promise.all([runs[0].result, runs[1].result]);
  return {
    a: ((cpuSeconds(a.pid) - before[0]) * 1e6) / ra.requests,
    b: ((cpuSeconds(b.pid) - before[1]) * 1e6) / rb.requests,
  };
}
