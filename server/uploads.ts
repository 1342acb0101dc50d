/**
 * Protects memory: a PUT body is counted as it arrives, so no body passes MAX_BODY_BYTES (413) and all the
 * bodies being received together never pass MAX_INFLIGHT_BYTES (503); a slow sender holds only what it sent.
 */
import type { Config } from "./config";
import { jsonError, RETRY } from "./responses";

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
    if (Number(request.headers.get("content-length")) > maxBodyBytes) return tooLarge();
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
