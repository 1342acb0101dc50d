/** The real Storage API (`bun server/main.ts`) on 127.0.0.1 and a port the OS picks (PORT=0). */
import { onCleanup } from "./cleanup";
import { ROOT } from "./repo";

export interface RunningService {
  url: string;
  stop(): Promise<void>;
}

/** A small store so the Store Usage gauge and Stored Bytes panel show visible numbers. */
const PREVIEW_ENV = { MAX_STORE_BYTES: String(1024 * 1024), MAX_BODY_BYTES: String(256 * 1024) };

export async function startService(timeoutMs = 15_000): Promise<RunningService> {
  const proc = Bun.spawn(["bun", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...PREVIEW_ENV, HOST: "127.0.0.1", PORT: "0" },
    stdin: "ignore",
    stdout: "pipe",
    // Its stderr is only written on a crash: shown as is.
    stderr: "inherit",
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(10_000).then(() => false)]);
    if (!exited) proc.kill("SIGKILL");
  };
  onCleanup(stop);
  // The start-up line (JSON on stdout) names the address; stdout is drained to the end so the
  // server never blocks on a full pipe.
  const address = new Promise<string | undefined>((resolve) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buffered = "";
      for await (const chunk of proc.stdout) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const address = /"address":"([^"]+)"/.exec(line)?.[1];
          if (address !== undefined) resolve(address);
        }
      }
      resolve(undefined);
    })();
  });
  const url = await Promise.race([address, Bun.sleep(timeoutMs).then(() => undefined)]);
  if (url === undefined) {
    await stop();
    throw new Error(`the Storage API printed no start-up line within ${timeoutMs} ms`);
  }
  return { url, stop };
}
