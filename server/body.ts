/**
 * Reading a request body under a size limit.
 *
 * With a Content-Length the limit is decided from the header before a byte is read and the body is then
 * read in one call; chunked bodies (no Content-Length) are read chunk by chunk and abandoned as soon as
 * they pass the limit. Streaming every body that way tripled the per-request cost in an earlier attempt,
 * which is why it is only the fallback.
 */

export type BodyResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: "too-large" | "unreadable" };

const TOO_LARGE = { ok: false, reason: "too-large" } as const;
const UNREADABLE = { ok: false, reason: "unreadable" } as const;

/** The declared length, or undefined when the request is chunked. */
export function declaredLength(request: Request): number | undefined {
  const header = request.headers.get("content-length");
  // Bun's HTTP parser has already rejected a malformed Content-Length, so Number() is safe here.
  return header === null ? undefined : Number(header);
}

/** `declared` is declaredLength(request), which the caller has already read for its own checks. */
export async function readBody(
  request: Request,
  limit: number,
  declared: number | undefined,
): Promise<BodyResult> {
  try {
    if (declared !== undefined) {
      if (declared > limit) return TOO_LARGE;
      return { ok: true, bytes: await request.bytes() };
    }
    return await readChunked(request.body, limit);
  } catch {
    // The client went away or sent a broken chunked encoding mid-body: its fault, not a server error.
    return UNREADABLE;
  }
}

async function readChunked(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyResult> {
  if (body === null) return { ok: true, bytes: new Uint8Array(0) };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return TOO_LARGE;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { ok: true, bytes };
}
