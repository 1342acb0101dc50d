/**
 * Protects memory: the collector runs on its own schedule, so under an overwrite storm replaced bodies piled
 * up past the sizing rule. A full collection each time `limitBytes` of bodies were allocated bounds them.
 */
export function collectEvery(limitBytes: number): (allocatedBytes: number) => void {
  let allocated = 0;
  return (bytes) => {
    allocated += bytes;
    if (allocated < limitBytes) return;
    allocated = 0;
    Bun.gc(true);
  };
}
