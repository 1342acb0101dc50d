/** The Store on Valkey/Redis (STORE_URL) through Bun's RedisClient: one key per id, maxmemory the budget. */
import { RedisClient } from "bun";
import { type Store, StoreUnavailable } from "./store";

/** RedisClient has no command timeout: past this a call fails (503) instead of waiting (docs/decisions.md). */
export const COMMAND_TIMEOUT_MS = 1000;
// No offline queue, no reconnect loop: while the server is away a call fails at once, the next reconnects.
const OPTIONS = { enableOfflineQueue: false, autoReconnect: false, connectionTimeout: COMMAND_TIMEOUT_MS };

export class RedisStore implements Store {
  readonly #client: RedisClient;
  /** `allocated` hears of every object fetched: each GET is a new buffer, garbage once it is sent. */
  constructor(
    url: string,
    readonly allocated: (bytes: number) => void = () => {},
  ) {
    this.#client = new RedisClient(url, OPTIONS);
  }

  get = (id: string) =>
    this.#call(async (redis) => {
      const bytes = await redis.getBuffer(id);
      if (bytes) this.allocated(bytes.byteLength);
      return bytes ?? undefined;
    });
  delete = (id: string) => this.#call(async (redis) => (await redis.del(id)) > 0);
  ready = () => this.#call((redis) => redis.ping()).then(Boolean, () => false);
  // With noeviction a write past maxmemory is refused ("OOM ...") and nothing changes: a 507.
  put = (id: string, bytes: Uint8Array) =>
    this.#call((redis) =>
      redis.set(id, bytes).then(
        () => true,
        (error: Error) => (error.message.startsWith("OOM") ? false : Promise.reject(error)),
      ),
    );

  // Unknown while the server is away: a failing scrape would look like the API itself being down.
  stats = () =>
    this.#call(async (redis) => {
      const [objects, info] = await Promise.all([redis.dbsize(), redis.info("memory")]);
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1]);
      return { objects, bytes: field("used_memory"), maxBytes: field("maxmemory") };
    }).catch(() => ({ objects: Number.NaN, bytes: Number.NaN, maxBytes: Number.NaN }));

  async #call<T>(command: (redis: RedisClient) => Promise<T>): Promise<T> {
    const timeout = Promise.withResolvers<never>();
    const timer = setTimeout(() => timeout.reject(new StoreUnavailable("timeout")), COMMAND_TIMEOUT_MS);
    try {
      if (!this.#client.connected) await Promise.race([this.#client.connect(), timeout.promise]);
      return await Promise.race([command(this.#client), timeout.promise]);
    } catch (error) {
      if (!(error instanceof StoreUnavailable)) throw new StoreUnavailable("error", { cause: error });
      // A server that stopped answering may never close the connection: drop it, the next call reconnects.
      this.#client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
