/**
 * Container health check without curl (the distroless image has no shell and no curl):
 * `bun server/healthcheck.ts` exits 0 when /healthz answers 200 within the timeout, else 1.
 */
export {};

const port = process.env.PORT ?? "5000";
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch {
  process.exit(1);
}
