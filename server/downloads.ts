/**
 * Protects memory: a response holds its object until it is sent or abandoned, even once the object is replaced
 * or deleted. Objects being sent stay under MAX_INFLIGHT_BYTES (503 past it), released on close or cancel.
 */
import { jsonError, RETRY, SMALL_BODY_BYTES } from "./responses";

export function downloadBudget(maxInflightBytes: number) {
  let inflight = 0;

  function send(bytes: Uint8Array, request: Request): Response {
    const headers = {
      "content-type": "application/octet-stream",
      "content-length": String(bytes.byteLength),
    };
    // Bun answers HEAD of a stream as chunked, without Date: send the headers GET would send.
    if (request.method === "HEAD")
      return new Response(bytes, { headers: { ...headers, date: new Date().toUTCString() } });
    // No larger than what the kernel buffers for any connection: sent whole, uncounted (docs/decisions.md#memory).
    if (bytes.byteLength <= SMALL_BODY_BYTES) return new Response(bytes, { headers });
    if (inflight + bytes.byteLength > maxInflightBytes)
      return jsonError(503, "too many downloads in progress", RETRY);
    inflight += bytes.byteLength;
    let offset = 0;
    let held = true;
    const release = () => {
      if (held) inflight -= bytes.byteLength;
      held = false;
    };
    // Pulled only as the socket drains; Bun cancels the stream when the client leaves or times out.
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (offset >= bytes.byteLength) {
            release();
            return controller.close();
          }
          controller.enqueue(bytes.subarray(offset, offset + SMALL_BODY_BYTES));
          offset += SMALL_BODY_BYTES;
        },
        cancel: release,
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { headers });
  }

  return { send };
}
