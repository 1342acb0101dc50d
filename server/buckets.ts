/**
 * The /api/buckets/:id routes: raw bytes in, the same bytes out.
 *
 * Method-specific routes win over `.all()` in Elysia's router, so `.all()` only answers the methods
 * not listed here (405). HEAD is answered by Elysia from the GET route.
 */
import { Elysia } from "elysia";
import { declaredLength, readBody } from "./body";
import type { Logger } from "./log";
import { empty, jsonError } from "./responses";
import type { Store } from "./store";

export const BUCKET_ROUTE = "/api/buckets/:id";

/** Longest accepted id, in characters after percent-decoding; documented in the README. */
export const MAX_ID_LENGTH = 256;

const ALLOW = { allow: "GET, HEAD, PUT, DELETE" } as const;
const OCTET_STREAM = { "content-type": "application/octet-stream" } as const;

export interface BucketOptions {
  store: Store;
  maxBodyBytes: number;
  logger: Logger;
}

const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * The decoded id, or the error response to send. Elysia's router hands over null when percent-decoding
 * fails; Bun's router (the one a listening server uses) decodes a broken sequence to U+FFFD instead, so
 * `%ZZ` and `%C3%28` would name the same id. An id holding U+FFFD is therefore decoded again, strictly,
 * from the raw URL: rare, so the common path stays a single `includes`.
 */
function checkId(id: string | null | undefined, request: Request): string | Response {
  if (typeof id === "string" && id.includes(REPLACEMENT_CHARACTER)) id = strictlyDecodedId(request.url);
  if (typeof id !== "string") return jsonError(400, "id is not valid percent-encoded UTF-8");
  if (id.length > MAX_ID_LENGTH) return jsonError(400, `id is longer than ${MAX_ID_LENGTH} characters`);
  return id;
}

/** The route's last segment from the raw URL, percent-decoded; undefined when that fails. */
function strictlyDecodedId(url: string): string | undefined {
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  try {
    return decodeURIComponent(path.slice(path.lastIndexOf("/") + 1));
  } catch {
    return undefined;
  }
}

export function bucketRoutes({ store, maxBodyBytes, logger }: BucketOptions) {
  // Bodies are read as raw bytes whatever the Content-Type; Elysia must not parse them.
  const raw = { parse: "none" } as const;

  return new Elysia()
    .get(BUCKET_ROUTE, ({ params, request }) => {
      const id = checkId(params.id, request);
      if (typeof id !== "string") return id;
      const data = store.get(id);
      if (data === undefined) return jsonError(404, "not found");
      return new Response(data, { headers: OCTET_STREAM });
    })
    .put(
      BUCKET_ROUTE,
      async ({ params, request }) => {
        const id = checkId(params.id, request);
        if (typeof id !== "string") return id;
        const declared = declaredLength(request);
        // Refuse early when the declared size cannot fit, without reading the body.
        if (declared !== undefined && declared <= maxBodyBytes && !store.fits(id, declared)) {
          return storeFull(id, declared);
        }
        const body = await readBody(request, maxBodyBytes, declared);
        if (!body.ok) {
          return body.reason === "too-large"
            ? jsonError(413, `body larger than ${maxBodyBytes} bytes`)
            : jsonError(400, "request body could not be read");
        }
        // Checked again at commit: other PUTs may have filled the store while this body arrived.
        if (store.put(id, body.bytes) === "full") return storeFull(id, body.bytes.byteLength);
        return empty(200);
      },
      raw,
    )
    .delete(
      BUCKET_ROUTE,
      ({ params, request }) => {
        const id = checkId(params.id, request);
        if (typeof id !== "string") return id;
        return store.delete(id) ? empty(204) : jsonError(404, "not found");
      },
      raw,
    )
    .all(BUCKET_ROUTE, () => jsonError(405, "method not allowed", ALLOW), raw);

  function storeFull(id: string, size: number): Response {
    logger("warn", "store full: PUT refused with 507", {
      status: 507,
      id,
      size,
      storedBytes: store.bytes,
      maxStoreBytes: store.maxBytes,
    });
    return jsonError(507, "store is full");
  }
}
