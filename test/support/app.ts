/** Builds an app for in-process tests (app.handle), with its own Registry and a captured log. */
import { Registry } from "prom-client";
import { type AppOptions, createApp } from "../../server/app";
import type { Logger } from "../../server/log";
import { parseExposition, type Sample } from "./exposition";

export const BASE = "http://storage.test";

export interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export function testApp(options: AppOptions = {}) {
  const logs: LogLine[] = [];
  const logger: Logger = (level, msg, fields) => logs.push({ level, msg, fields });
  const registry = new Registry();
  const app = createApp({ registry, logger, ...options });

  // No wait after the response: the metrics hooks have recorded the request before it is returned.
  function request(method: string, path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    // As an HTTP client does: a body of known size is sent with its Content-Length.
    const { body } = init;
    if ((typeof body === "string" || body instanceof Uint8Array) && !headers.has("content-length")) {
      headers.set(
        "content-length",
        String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength),
      );
    }
    return app.handle(new Request(BASE + path, { method, ...init, headers }));
  }

  async function samples(): Promise<Sample[]> {
    const response = await app.handle(new Request(`${BASE}/metrics`));
    return parseExposition(await response.text());
  }

  return { app, logs, registry, request, samples };
}
