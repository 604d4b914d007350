import { deepEqual, equal } from "node:assert/strict";
import zlib from "node:zlib";
import { createCompressor, negotiateEncoding } from "../../lib/http/compress.ts";

Deno.test("negotiateEncoding() honours q-values, wildcards and refusals", () => {
  const cases: [string | null, string | null][] = [
    [null, null],
    ["", null],
    ["identity", null],
    ["gzip", "gzip"],
    ["br", "br"],
    ["zstd", "zstd"],
    ["gzip, deflate, br, zstd", "zstd"],
    ["gzip, br", "gzip"],
    ["br;q=1.0, gzip;q=0.8", "br"],
    ["gzip;q=0, br", "br"],
    ["*", "zstd"],
    ["*;q=0.5, gzip", "gzip"],
    ["deflate", null],
    ["GZIP", "gzip"],
  ];
  for (const [header, expected] of cases) equal(negotiateEncoding(header), expected, `${header}`);
});

Deno.test("createCompressor() streams output each decoder reads back", async () => {
  const input = new TextEncoder().encode("id,name\r\n" + "1,duck\r\n".repeat(50_000));
  const decoders = {
    gzip: zlib.gunzipSync,
    br: zlib.brotliDecompressSync,
    zstd: zlib.zstdDecompressSync,
  };
  for (const [encoding, decode] of Object.entries(decoders)) {
    const pieces = [
      input.subarray(0, 1000),
      input.subarray(1000, 200_000),
      input.subarray(200_000),
    ];
    const stream = ReadableStream.from(pieces).pipeThrough(
      createCompressor(encoding as "gzip" | "br" | "zstd"),
    );
    const packed = new Uint8Array(await new Response(stream).arrayBuffer());
    equal(packed.length < input.length / 10, true, encoding);
    deepEqual(new Uint8Array(decode(packed)), input, encoding);
  }
});
