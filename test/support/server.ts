/**
 * Starts the real server (`bun server/main.ts`) as a child process on 127.0.0.1 and a free port (PORT=0),
 * and reads the port it chose from its start-up log line. Always call stop() (afterAll / finally).
 */
import { root as ROOT } from "./repo";

export type RunningServer = Awaited<ReturnType<typeof startServer>>;

const spawn = (env: Record<string, string>) =>
  Bun.spawn(["bun", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdin: "ignore",
    stderr: "pipe",
  });
/** The exit code, or -1 after a SIGKILL once 10 s passed. */
const exit = async (proc: ReturnType<typeof spawn>) => {
  const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => -1)]);
  if (code === -1) proc.kill("SIGKILL");
  return code;
};

export async function startServer(env: Record<string, string> = {}) {
  const proc = spawn({ HOST: "127.0.0.1", PORT: "0", ...env });
  /** Every stdout line so far, parsed as JSON. */
  const logs: Array<Record<string, unknown>> = [];
  /** Resolves once a log line with this `msg` has been printed. */
  const logged = async (msg: string, timeoutMs = 5000) => {
    for (const deadline = Date.now() + timeoutMs; !logs.some((l) => l.msg === msg); await Bun.sleep(10))
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`no log line "${msg}"`);
  };
  void (async () => {
    let buffered = "";
    for await (const chunk of proc.stdout.pipeThrough(new TextDecoderStream())) {
      const lines = (buffered + chunk).split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) logs.push(JSON.parse(line));
    }
  })();
  try {
    await logged("storage api listening", 10_000);
  } catch {
    proc.kill("SIGKILL");
    throw new Error(`server did not start: ${await new Response(proc.stderr).text()}`);
  }
  return {
    url: String(logs.find((l) => l.msg === "storage api listening")?.address),
    proc,
    logs,
    exited: proc.exited,
    logged,
    stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      return exit(proc);
    },
  };
}

/** A TCP connection to the server: write raw bytes, then `answer()` is all it sent once it closed (or after 5 s). */
export async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  let received = "";
  const { promise: done, resolve: closed } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname,
    port: Number(port),
    socket: {
      data(_, data) {
        received += data.toString("latin1");
      },
      close: () => closed(),
      error: () => closed(),
    },
  });
  return { socket, answer: () => Promise.race([done, Bun.sleep(5000)]).then(() => received) };
}

/** Sends one raw request that asks to close; resolves with the whole answer. */
export async function rawRequest(url: string, data: string | Uint8Array): Promise<string> {
  const connection = await rawConnection(url);
  connection.socket.write(data);
  return connection.answer();
}

/** Starts a server that must fail to start; resolves with its exit code and the one line it logged. */
export async function failedStart(env: Record<string, string>) {
  const proc = spawn(env);
  return {
    code: await exit(proc),
    line: JSON.parse((await new Response(proc.stdout).text()).trim()) as unknown,
  };
}
