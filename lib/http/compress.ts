/**
 * Response compression: `Accept-Encoding` negotiation with q-values (zstd, br, gzip; `identity`
 * otherwise) and streaming compressors from `node:zlib`: zstd (default level), br (quality 4) and
 * gzip (level 4), levels chosen to keep up with a streamed export.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { negotiateEncoding } from "./compress.ts";
 * equal(negotiateEncoding("gzip, br;q=0.5"), "gzip");
 * equal(negotiateEncoding("br, zstd"), "zstd");
 * equal(negotiateEncoding("gzip;q=0, identity"), null);
 * ```
 * @module
 */

import zlib from "node:zlib";

/** A content coding duckserve can produce. */
export type Encoding = "zstd" | "br" | "gzip";

/** Preference order when the client rates several codings equally (ratio, then speed). */
const ENCODINGS: readonly Encoding[] = ["zstd", "gzip", "br"];

/** Picks the best coding the client accepts, or `null` for none (identity). */
export function negotiateEncoding(header: string | null | undefined): Encoding | null {
  if (!header) return null;
  const q = new Map<string, number>();
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";").map((s) => s.trim());
    if (!name) continue;
    let value = 1;
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p);
      if (m) value = Number(m[1]);
    }
    q.set(name, Number.isFinite(value) ? value : 0);
  }
  let best: Encoding | null = null;
  let bestQ = 0;
  for (const encoding of ENCODINGS) {
    const value = q.get(encoding) ?? q.get("*") ?? 0;
    if (value > bestQ) {
      best = encoding;
      bestQ = value;
    }
  }
  return best;
}

/** A streaming compressor for `encoding`. */
export function createCompressor(encoding: Encoding): TransformStream<Uint8Array, Uint8Array> {
  const stream = encoding === "gzip"
    ? zlib.createGzip({ level: 4 })
    : encoding === "br"
    ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } })
    : zlib.createZstdCompress();
  let output: TransformStreamDefaultController<Uint8Array> | null = null;
  const ended = new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  stream.on("data", (chunk: Uint8Array) => output?.enqueue(new Uint8Array(chunk)));
  return new TransformStream<Uint8Array, Uint8Array>({
    start(controller) {
      output = controller;
    },
    transform(chunk) {
      return new Promise<void>((resolve, reject) => {
        stream.write(chunk, (err) => err ? reject(err) : resolve());
      });
    },
    flush() {
      stream.end();
      return ended;
    },
    cancel() {
      stream.destroy();
    },
  });
}
