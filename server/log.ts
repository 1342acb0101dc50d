/** Structured logs: one JSON object per line on stdout, as `docker compose logs` and `kubectl logs` show them. */

export type Logger = (
  level: "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export const stdoutLogger: Logger = (level, msg, fields) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
};

export const silentLogger: Logger = () => {};

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, stack: error.stack };
  return { error: String(error) };
}
