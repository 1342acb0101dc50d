/** Structured logs: one JSON object per line on stdout, as `docker compose logs` and `kubectl logs` show them. */

type Level = "info" | "warn" | "error";
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export const stdoutLogger: Logger = (level, msg, fields) => {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
};

export const silentLogger: Logger = () => {};

/** At most one line per interval; the next line says how many were left out since the last one. */
export function throttled(logger: Logger, intervalMs: number, now = () => performance.now()): Logger {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (level, msg, fields) => {
    if (now() - last < intervalMs) {
      suppressed++;
      return;
    }
    last = now();
    logger(level, msg, { ...fields, suppressed });
    suppressed = 0;
  };
}

export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, stack: error.stack };
  return { error: String(error) };
}
