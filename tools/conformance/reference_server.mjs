// Starts the published reference server (@durable-streams/server) under Node, for the streams
// ratio benchmark (bench/streams/ratio_bench.ts). Prints "listening <url>" once ready.
// Usage: node tools/conformance/reference_server.mjs [--port N] [--data-dir DIR] [--long-poll-ms N]
import { DurableStreamTestServer } from "@durable-streams/server";

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const dataDir = flag("data-dir", "");
const server = new DurableStreamTestServer({
  host: "127.0.0.1",
  port: Number(flag("port", "0")),
  longPollTimeout: Number(flag("long-poll-ms", "30000")),
  ...(dataDir ? { dataDir } : {}),
  // duckserve does not compress; compare the same bytes on the wire
  compression: false,
});
const url = await server.start();
console.log(`listening ${url}`);
const stop = async () => {
  await server.stop();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
