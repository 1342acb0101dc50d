/**
 * The in-memory store: a Blob per id, and a budget that counts what each object really costs.
 * Synchronous operations on Bun's one JavaScript thread are atomic: a reader sees the old value or the new one.
 */

/** Measured memory of one stored object beyond its payload and id, rounded up (docs/decisions.md#memory). */
export const OBJECT_OVERHEAD_BYTES = 1024;

/** What an object counts against the budget: payload, id (2 bytes per UTF-16 unit) and the overhead. */
export function objectCost(id: string, size: number): number {
  return size + 2 * id.length + OBJECT_OVERHEAD_BYTES;
}

export class Store {
  readonly #objects = new Map<string, Blob>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  get objects(): number {
    return this.#objects.size;
  }

  /** Bytes counted against maxBytes. */
  get bytes(): number {
    return this.#bytes;
  }

  get(id: string): Blob | undefined {
    return this.#objects.get(id);
  }

  /** Whether `size` bytes under `id` would fit, counting what they would replace. */
  fits(id: string, size: number): boolean {
    return this.#bytes + this.#growth(id, size) <= this.maxBytes;
  }

  /** Stores `data` under `id`, replacing any value; false (and nothing changed) when it does not fit. */
  put(id: string, data: Blob): boolean {
    const growth = this.#growth(id, data.size);
    if (this.#bytes + growth > this.maxBytes) return false;
    this.#bytes += growth;
    this.#objects.set(id, data);
    return true;
  }

  delete(id: string): boolean {
    const cost = this.#cost(id);
    if (!this.#objects.delete(id)) return false;
    this.#bytes -= cost;
    return true;
  }

  /** How much storing `size` bytes under `id` changes the budget in use. */
  #growth(id: string, size: number): number {
    return objectCost(id, size) - this.#cost(id);
  }

  #cost(id: string): number {
    const existing = this.#objects.get(id);
    return existing === undefined ? 0 : objectCost(id, existing.size);
  }
}
