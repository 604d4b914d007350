/**
 * A tiny server that mounts only the streams module at /v1/stream, for the conformance suite.
 *
 * Usage: deno run -A tools/conformance/serve.ts [--port N] [--dir PATH] [--long-poll-ms N]
 * Prints `listening <port>` on stdout once ready. Storage is in memory unless --dir is given.
 * @module
 */

import { createStreams } from "../../lib/streams/mod.ts";

const PREFIX = "/v1/stream";

function flag(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const dir = flag("dir", "");
const streams = await createStreams({
  storage: dir ? { kind: "dir", dir } : { kind: "memory" },
  longPollTimeoutMs: Number(flag("long-poll-ms", "500")),
  sseReconnectIntervalMs: Number(flag("sse-reconnect-ms", "60000")),
  onEvent: (e) => {
    if (e.type !== "stream_expired") console.error(JSON.stringify(e));
  },
});

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(flag("port", "0")),
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (req) => {
  const { pathname } = new URL(req.url);
  if (pathname.startsWith(`${PREFIX}/`)) {
    let path: string;
    try {
      path = pathname.slice(PREFIX.length + 1).split("/").map(decodeURIComponent).join("/");
    } catch {
      return new Response("bad path encoding", { status: 400 });
    }
    return streams.handle(req, path, PREFIX);
  }
  return new Response("not found", { status: 404 });
});

const stop = async () => {
  await server.shutdown();
  await streams.close();
  Deno.exit(0);
};
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
