/**
 * The Store: where objects live. put() stores the bytes whole or not at all (false: no room, a 507); get()
 * returns what the last acknowledged put() stored; calls may overlap. Routes and metrics see only this.
 */
export interface Store {
  get(id: string): Promise<Uint8Array | undefined>;
  put(id: string, bytes: Uint8Array): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  stats(): Promise<{ objects: number; bytes: number; maxBytes: number }>;
  /** False while the store cannot serve; /readyz follows it. */
  ready(): Promise<boolean>;
}

/** The store cannot answer now; the message is the outcome, "error" or "timeout". The request gets 503. */
export class StoreUnavailable extends Error {}

/** Measured memory of one stored object beyond its payload and id, rounded up (docs/decisions.md#memory). */
export const OBJECT_OVERHEAD_BYTES = 1024;

/** What an object counts against the budget: payload, id (2 bytes per UTF-16 unit) and the overhead. */
export function objectCost(id: string, size: number): number {
  return size + 2 * id.length + OBJECT_OVERHEAD_BYTES;
}

/**
 * The embedded default: a Map in this process. Protects memory: what it holds stays within maxBytes (a PUT
 * past it gets 507). Each call completes synchronously, so each is atomic.
 */
export class MemoryStore implements Store {
  readonly #objects = new Map<string, Uint8Array>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  async get(id: string) {
    return this.#objects.get(id);
  }

  async put(id: string, bytes: Uint8Array) {
    const growth = objectCost(id, bytes.byteLength) - this.#cost(id);
    if (this.#bytes + growth > this.maxBytes) return false;
    this.#bytes += growth;
    this.#objects.set(id, bytes);
    return true;
  }

  async delete(id: string) {
    this.#bytes -= this.#cost(id);
    return this.#objects.delete(id);
  }

  async stats() {
    return { objects: this.#objects.size, bytes: this.#bytes, maxBytes: this.maxBytes };
  }

  async ready() {
    return true;
  }

  #cost(id: string): number {
    const existing = this.#objects.get(id);
    return existing === undefined ? 0 : objectCost(id, existing.byteLength);
  }
}
