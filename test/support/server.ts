/**
 * Starts the real server (`bun server/main.ts`) as a child process on 127.0.0.1 and a free port (PORT=0),
 * and reads the port it chose from its start-up log line. Always call stop() (afterAll / finally).
 */
import type { Subprocess } from "bun";

const ROOT = `${import.meta.dir}/../..`;

export interface RunningServer {
  url: string;
  proc: Subprocess<"ignore", "pipe", "pipe">;
  /** Every stdout line so far, parsed as JSON. */
  logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code. */
  exited: Promise<number>;
  /** Resolves once a log line with this `msg` has been printed; throws after 5 s. */
  logged(msg: string): Promise<void>;
  stop(): Promise<number>;
}

export async function startServer(
  env: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<RunningServer> {
  const proc = Bun.spawn(["bun", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const logs: Array<Record<string, unknown>> = [];
  let announce: (url: string) => void = () => {};
  const listening = new Promise<string>((resolve) => {
    announce = resolve;
  });
  void (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>;
        buffered = buffered.slice(newline + 1);
        logs.push(line);
        if (line.msg === "storage api listening") announce(String(line.address));
        newline = buffered.indexOf("\n");
      }
    }
  })();
  const timeout = Bun.sleep(timeoutMs).then(() => "timeout" as const);
  const first = await Promise.race([listening, proc.exited.then(() => "exited" as const), timeout]);
  if (first === "timeout" || first === "exited") {
    proc.kill("SIGKILL");
    const stderr = await new Response(proc.stderr).text();
    throw new Error(`server did not start (${first}): ${stderr}`);
  }
  return {
    url: first,
    proc,
    logs,
    exited: proc.exited,
    async logged(msg) {
      const deadline = Date.now() + 5000;
      while (!logs.some((l) => l.msg === msg)) {
        if (Date.now() > deadline) throw new Error(`no log line "${msg}"`);
        await Bun.sleep(10);
      }
    },
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => -1)]);
      if (code === -1) proc.kill("SIGKILL");
      return code;
    },
  };
}

/** A TCP connection to the server: write raw bytes, then `answer()` is all it sent once it closed (or after 5 s). */
export async function rawConnection(url: string) {
  const { hostname, port } = new URL(url);
  let received = "";
  let closed: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    closed = resolve;
  });
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
  const proc = Bun.spawn(["bun", "server/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
  });
  const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => -1)]);
  if (code === -1) proc.kill("SIGKILL");
  return { code, line: JSON.parse((await new Response(proc.stdout).text()).trim()) as unknown };
}
