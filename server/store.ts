/**
 * The in-memory store: bytes per id, with byte accounting and a capacity limit.
 *
 * Every operation is synchronous, so on Bun's single JavaScript thread each one is atomic: a reader sees
 * either the old value or the new one, never a mix. Stored arrays are never mutated after `put`, which is
 * what makes it safe to hand them to a Response without copying.
 */

export type PutResult = "stored" | "full";

export class Store {
  readonly #objects = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** Number of stored objects. */
  get objects(): number {
    return this.#objects.size;
  }

  /** Payload bytes held (ids and per-object overhead are not counted; see docs/performance.md). */
  get bytes(): number {
    return this.#bytes;
  }

  get(id: string): Uint8Array | undefined {
    return this.#objects.get(id);
  }

  /** Whether storing `size` bytes under `id` would fit, counting the bytes it would replace. */
  fits(id: string, size: number): boolean {
    const replaced = this.#objects.get(id)?.byteLength ?? 0;
    return this.#bytes - replaced + size <= this.maxBytes;
  }

  /** Stores `data` under `id` (replacing any value), unless that would exceed the capacity. */
  put(id: string, data: Uint8Array): PutResult {
    if (!this.fits(id, data.byteLength)) return "full";
    const replaced = this.#objects.get(id)?.byteLength ?? 0;
    this.#objects.set(id, data);
    this.#bytes += data.byteLength - replaced;
    return "stored";
  }

  /** Removes `id`; false when it did not exist. */
  delete(id: string): boolean {
    const existing = this.#objects.get(id);
    if (existing === undefined) return false;
    this.#objects.delete(id);
    this.#bytes -= existing.byteLength;
    return true;
  }
}
