/** Response builders shared by the routes: every error is JSON `{"error": "..."}` with a fitting status. */

/** Bodies up to this size are no more than the kernel buffers per connection: the budgets skip them. */
export const SMALL_BODY_BYTES = 64 * 1024;

/** "Come back in a second": a burst waits instead of filling memory. */
export const RETRY = { "retry-after": "1" } as const;

const JSON_HEADERS = { "content-type": "application/json" } as const;

export function jsonError(status: number, message: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: message }), {
    status,
    headers: headers === undefined ? JSON_HEADERS : { ...JSON_HEADERS, ...headers },
  });
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: JSON_HEADERS });
}

export function empty(status: number): Response {
  return new Response(null, { status });
}
