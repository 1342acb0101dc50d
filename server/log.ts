/**
 * Structured logs: one JSON object per line on stdout, which both `docker compose logs` and
 * `kubectl logs` show as is and any log shipper can parse without a custom pattern.
 */

type Level = "info" | "warn" | "error";
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export const stdoutLogger: Logger = (level, msg, fields) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
};

/** For tests and benchmarks that must not print. */
export const silentLogger: Logger = () => {};

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, stack: error.stack };
  return { error: String(error) };
}
