/**
 * Protects memory: a PUT body over SMALL_BODY_BYTES is counted as it arrives, so no body passes MAX_BODY_BYTES
 * (413), those being received never pass MAX_INFLIGHT_BYTES together (503); a slow sender holds what it sent.
 */
import type { Config } from "./config";
import { jsonError, RETRY, SMALL_BODY_BYTES } from "./responses";

/** `allocated` hears of every body byte held: received, then joined into one array. */
export function uploadBudget(
  { maxBodyBytes, maxInflightBytes }: Pick<Config, "maxBodyBytes" | "maxInflightBytes">,
  allocated: (bytes: number) => void,
) {
  let inflight = 0;
  const tooLarge = () => jsonError(413, `body larger than ${maxBodyBytes} bytes`);

  /** The whole body, or the Response to send instead; a refused body is not read further. */
  async function read(request: Request): Promise<Uint8Array | Response> {
    // A declared length over the limit is refused for free; a malformed one ("5, 5") is NaN: counted below.
    const declared = Number(request.headers.get("content-length") ?? Number.NaN);
    if (declared > maxBodyBytes) return tooLarge();
    // No larger than what the kernel buffers for any connection: read whole, Bun's fast path, uncounted.
    if (declared <= SMALL_BODY_BYTES) {
      const body = await request.arrayBuffer().catch(() => undefined);
      if (body === undefined) return jsonError(400, "request body could not be read");
      allocated(body.byteLength);
      return new Uint8Array(body);
    }
    const chunks: Uint8Array[] = [];
    let held = 0;
    try {
      for await (const chunk of request.body ?? []) {
        chunks.push(chunk);
        held += chunk.byteLength;
        inflight += chunk.byteLength;
        if (held > maxBodyBytes) return tooLarge();
        if (inflight > maxInflightBytes) return jsonError(503, "too many uploads in progress", RETRY);
      }
    } catch {
      // The client went away mid-body (or the idle timeout cut it): nothing is stored.
      return jsonError(400, "request body could not be read");
    } finally {
      inflight -= held;
      allocated(2 * held);
    }
    return new Uint8Array(Bun.concatArrayBuffers(chunks));
  }

  return { read };
}
