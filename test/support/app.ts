/** Builds an app for in-process tests (app.handle), with its own Registry and a captured log. */
import { Registry } from "prom-client";
import { type AppOptions, createApp } from "../../server/app";
import type { Logger } from "../../server/log";
import { MemoryStore } from "../../server/store";
import { parseExposition, type Sample } from "./exposition";

export const BASE = "http://storage.test";

export function testApp(options: AppOptions = {}) {
  const logs: Array<{ level: string; msg: string; fields?: Record<string, unknown> }> = [];
  const logger: Logger = (level, msg, fields) => logs.push({ level, msg, fields });
  const registry = new Registry();
  const app = createApp({ registry, logger, ...options });

  // No wait after the response: the metrics hooks have recorded the request before it is returned.
  function request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    // As an HTTP client does: a body of known size is sent with its Content-Length.
    const { body } = init;
    const size = typeof body === "string" ? Buffer.byteLength(body) : (body as Uint8Array | null)?.byteLength;
    if (size !== undefined && !headers.has("content-length")) headers.set("content-length", String(size));
    return app.handle(new Request(BASE + path, { method, ...init, headers }));
  }

  /** Sends each "METHOD path [body]" in turn; resolves with their statuses. */
  async function statuses(...lines: string[]): Promise<number[]> {
    const result = [];
    for (const [method = "", path = "", body] of lines.map((l) => l.split(" ")))
      result.push((await request(method, path, body === undefined ? {} : { body })).status);
    return result;
  }

  const samples = async (): Promise<Sample[]> =>
    parseExposition(await (await request("GET", "/metrics")).text());

  return { app, logs, registry, request, statuses, samples };
}

/** A store whose get("boom") throws, as a failing store would. */
export class BrokenStore extends MemoryStore {
  override async get(id: string) {
    if (id === "boom") throw new Error("simulated store failure");
    return super.get(id);
  }
}
