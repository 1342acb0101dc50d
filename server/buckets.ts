/** The /api/buckets/:id routes: raw bytes in, the same bytes out, within the configured limits. */
import { Elysia } from "elysia";
import type { Logger } from "./log";
import { empty, jsonError } from "./responses";
import type { Store } from "./store";

export const BUCKET_ROUTE = "/api/buckets/:id";
export const MAX_ID_LENGTH = 256;

const ALLOW = { allow: "GET, HEAD, PUT, DELETE" } as const;
const OCTET_STREAM = { "content-type": "application/octet-stream" } as const;
const RETRY = { "retry-after": "1" } as const;

export interface BucketOptions {
  store: Store;
  maxBodyBytes: number;
  maxInflightBytes: number;
  /** Throttled: a flood of refusals must not become a flood of log lines. */
  refusals: Logger;
}

/** The id, or the 400 to send. Bun turns invalid UTF-8, raw or percent-encoded, into U+FFFD. */
function checkId(id: string | null | undefined): string | Response {
  if (typeof id !== "string" || id.includes("\uFFFD")) return jsonError(400, "id is not valid UTF-8");
  if (id.length > MAX_ID_LENGTH) return jsonError(400, `id is longer than ${MAX_ID_LENGTH} characters`);
  return id;
}

export function bucketRoutes({ store, maxBodyBytes, maxInflightBytes, refusals }: BucketOptions) {
  // Bodies are raw bytes whatever the Content-Type; Elysia must not parse them.
  const raw = { parse: "none" } as const;
  let inflightBytes = 0;

  async function put(id: string, request: Request): Promise<Response> {
    const header = request.headers.get("content-length");
    // Every decision below is made before a byte of the body is read, so a chunked body is refused.
    if (header === null && request.body !== null) return jsonError(411, "Content-Length is required");
    const size = header === null ? 0 : Number(header);
    if (size > maxBodyBytes) return jsonError(413, `body larger than ${maxBodyBytes} bytes`);
    if (!store.fits(id, size)) return refuse(507, "store is full", size);
    if (inflightBytes + size > maxInflightBytes)
      return refuse(503, "too many uploads in progress", size, RETRY);
    inflightBytes += size;
    let body: Blob;
    try {
      body = header === null ? new Blob() : await request.blob();
    } catch {
      // The client went away mid-body (or the idle timeout cut it): nothing is stored.
      return jsonError(400, "request body could not be read");
    } finally {
      inflightBytes -= size;
    }
    // Checked again: other PUTs may have filled the store while this body arrived.
    return store.put(id, body) ? empty(200) : refuse(507, "store is full", size);
  }

  function refuse(status: number, message: string, size: number, headers?: Record<string, string>): Response {
    refusals("warn", `PUT refused: ${message}`, { status, size, storedBytes: store.bytes, inflightBytes });
    return jsonError(status, message, headers);
  }

  return (
    new Elysia()
      .get(BUCKET_ROUTE, ({ params }) => {
        const id = checkId(params.id);
        if (typeof id !== "string") return id;
        const data = store.get(id);
        // A stored Blob is sent without a copy per response, however slowly the client reads.
        return data === undefined
          ? jsonError(404, "not found")
          : new Response(data, { headers: OCTET_STREAM });
      })
      .put(
        BUCKET_ROUTE,
        // async, so Elysia awaits it before the metrics' mapResponse reads the status.
        async ({ params, request }) => {
          const id = checkId(params.id);
          return typeof id === "string" ? await put(id, request) : id;
        },
        raw,
      )
      .delete(
        BUCKET_ROUTE,
        ({ params }) => {
          const id = checkId(params.id);
          if (typeof id !== "string") return id;
          return store.delete(id) ? empty(204) : jsonError(404, "not found");
        },
        raw,
      )
      // Method-specific routes win over all() in Elysia's router, so this answers only the other methods.
      .all(BUCKET_ROUTE, () => jsonError(405, "method not allowed", ALLOW), raw)
  );
}
