// Test helpers: a real Deno.serve server on an ephemeral port mounting the streams module.
import { createStreams, type StreamsOptions, type StreamsService } from "../../lib/streams/mod.ts";

/** The mount prefix used by tests (same as the conformance suite). */
export const PREFIX = "/v1/stream";

/** A running test server; dispose with `await using`. */
export interface TestServer extends AsyncDisposable {
  url: string;
  streams: StreamsService;
  /** Absolute URL of a stream path. */
  at(path: string): string;
}

/** Routes `{PREFIX}/*` of a request to the module. */
export function route(streams: StreamsService, req: Request): Promise<Response> | Response {
  const { pathname } = new URL(req.url);
  if (!pathname.startsWith(`${PREFIX}/`)) return new Response("not found", { status: 404 });
  const path = pathname.slice(PREFIX.length + 1).split("/").map(decodeURIComponent).join("/");
  return streams.handle(req, path, PREFIX);
}

/** Starts a server with memory storage unless options say otherwise. */
export async function startServer(options: Partial<StreamsOptions> = {}): Promise<TestServer> {
  const streams = await createStreams({
    storage: { kind: "memory" },
    longPollTimeoutMs: 500,
    sseReconnectIntervalMs: 60_000,
    ...options,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) => route(streams, req),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    streams,
    at: (path) => `${url}${PREFIX}/${path}`,
    async [Symbol.asyncDispose]() {
      await streams.close();
      await server.shutdown();
    },
  };
}

/** fetch() that always consumes the body; returns status, headers and text. */
export async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

/** Reads an SSE response until `until(received)` is true or the stream ends; then cancels. */
export async function readSse(
  url: string,
  until: (received: string) => boolean,
  timeoutMs = 5000,
): Promise<{ status: number; headers: Headers; received: string }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const res = await fetch(url, { signal: ctl.signal });
  let received = "";
  try {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    while (!until(received)) {
      const { done, value } = await reader.read();
      if (done) break;
      received += dec.decode(value, { stream: true });
    }
    await reader.cancel().catch(() => {});
  } catch (e) {
    if (!(e instanceof DOMException && e.name === "AbortError")) throw e;
  } finally {
    clearTimeout(timer);
  }
  return { status: res.status, headers: res.headers, received };
}

/** Parses SSE text into events. */
export function parseSse(text: string): { event: string; data: string }[] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const lines = block.split("\n");
    const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
    return { event, data };
  });
}
