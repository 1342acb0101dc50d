/**
 * What the run started (processes, servers, temp dirs), undone once in reverse order: at the end, on an
 * error, or on SIGINT/SIGTERM. Each resource registers its undo as soon as it exists.
 */
const steps: Array<() => unknown> = [];

export const onCleanup = (step: () => unknown) => {
  steps.push(step);
};

export async function cleanUp(): Promise<void> {
  for (const step of steps.splice(0).reverse()) {
    await Promise.resolve()
      .then(step)
      .catch((error) => console.error(error));
  }
}

/** Ctrl-C or a kill ends the run only after everything above is undone; exit codes as a shell gives them. */
export function cleanUpOnSignals(): void {
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(signal, () => {
      console.error(`[dashboard preview] ${signal}: stopping and removing temporary files`);
      void cleanUp().then(() => process.exit(code));
    });
  }
}
