// Subprocess fixture for crash tests: serves the streams module with durable storage.
// Usage: deno run -A tests/streams/_serve_fixture.ts <dir>   (prints "listening <port>")
import { createStreams } from "../../lib/streams/mod.ts";
import { route } from "./_server.ts";

const streams = await createStreams({
  storage: { kind: "dir", dir: Deno.args[0] },
  longPollTimeoutMs: 500,
  sseReconnectIntervalMs: 60_000,
  onEvent: (e) => console.error(JSON.stringify(e)),
});
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (req) => route(streams, req));
