/** Requests from the benchmark process itself (the /metrics and memory checks), each answer checked. */

export async function send(base: string, method: string, path: string, status: number, body?: Uint8Array) {
  const response = await fetch(base + path, { method, ...(body && { body }) });
  const text = await response.text();
  if (response.status !== status)
    throw new Error(`${method} ${path}: ${response.status}, expected ${status}`);
  return text;
}

/** task(0) … task(count − 1), `width` of them in flight at a time. */
export async function inParallel(count: number, width: number, task: (i: number) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}
