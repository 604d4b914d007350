import { deepEqual, equal } from "node:assert/strict";
import { type LineOut, StringOut } from "../../lib/ops/line_out.ts";
import { FLUSH_BYTES, FLUSH_MS, MAX_QUEUED, openLineSink } from "../../lib/ops/line_sink.ts";

/** Writes each line with `fill` through a file sink and reads the file back. */
async function written<T>(args: T[], fill: (out: LineOut, arg: T) => void): Promise<string[]> {
  const dir = await Deno.makeTempDir();
  try {
    const sink = openLineSink(`${dir}/lines.log`, { rollSize: 1e12, rollKeep: 1 });
    for (const arg of args) sink.writeWith(fill, arg);
    await sink.close();
    const text = await Deno.readTextFile(`${dir}/lines.log`);
    equal(text.at(-1), "\n");
    return text.slice(0, -1).split("\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The same line built as a string. */
function asString<T>(arg: T, fill: (out: LineOut, arg: T) => void): string {
  const out = new StringOut();
  fill(out, arg);
  return out.line;
}

Deno.test("strings are written as JSON.stringify writes them, escapes and all", async () => {
  const texts = [
    "plain",
    "",
    'quote " and backslash \\',
    "line\nbreak\ttab\u0000nul",
    "naïve café ✓ 𝄞",
    "lone surrogate \ud800 end",
    "\u007f delete",
  ];
  const fill = (out: LineOut, text: string) => {
    out.ascii("[");
    out.string(text);
    out.ascii("]");
  };
  const lines = await written(texts, fill);
  deepEqual(lines, texts.map((t) => `[${JSON.stringify(t)}]`));
  deepEqual(lines, texts.map((t) => asString(t, fill)));
  deepEqual(lines.map((l) => JSON.parse(l)[0]), texts.map((t) => JSON.parse(JSON.stringify(t))));
});

Deno.test("decimals are plain JSON numbers rounded to their places", async () => {
  const cases: [number, number, string][] = [
    [0, 9, "0"],
    [2.03e-7, 9, "0.000000203"],
    [0.00040274200000021666, 9, "0.000402742"],
    [1796306813.6010003, 6, "1796306813.601"],
    [1796306813.9999996, 6, "1796306814"],
    [54192, 0, "54192"],
    [0.1 + 0.2, 9, "0.3"],
    [12.5, 0, "13"],
    [1e300, 6, "1e+300"],
    [-1.25, 3, "-1.25"],
    [NaN, 3, "null"],
    [Infinity, 3, "null"],
  ];
  const fill = (out: LineOut, [value, places]: [number, number, string]) =>
    out.decimal(value, places);
  const lines = await written(cases, fill);
  deepEqual(lines, cases.map(([, , text]) => text));
  deepEqual(lines, cases.map((c) => asString(c, fill)));
  for (const line of lines) JSON.parse(line);
});

Deno.test("runs, pieces and text past the buffer's end make whole lines in order", async () => {
  // Lines of growing length, some longer than the whole buffer, with runs that repeat and
  // runs that change: every line arrives whole, in order, once.
  const sizes = Array.from({ length: 400 }, (_, i) => (i * 977) % 9000);
  sizes.push(3 * FLUSH_BYTES, 10, 2 * FLUSH_BYTES + 5, 1);
  const fill = (out: LineOut, size: number) => {
    out.run(`{"run":${size % 3},"text":`);
    out.string("é".repeat(size >> 1) + "x".repeat(size - (size >> 1)));
    out.text(`,"n":${size},"d":`);
    out.decimal(size / 7, 4);
    out.ascii("}");
  };
  const lines = await written(sizes, fill);
  equal(lines.length, sizes.length);
  deepEqual(lines, sizes.map((size) => asString(size, fill)));
});

Deno.test("a full batch is written at once, a partial one after a short wait", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/lines.log`;
  const sink = openLineSink(path, { rollSize: 1e12, rollKeep: 1 });
  const lines = () => {
    try {
      return Deno.readTextFileSync(path).split("\n").filter(Boolean);
    } catch {
      return [];
    }
  };
  try {
    for (let i = 0; i < MAX_QUEUED - 1; i++) sink.write(`line ${i}`);
    equal(lines().length, 0, "queued, not written yet");
    sink.write(`line ${MAX_QUEUED - 1}`);
    equal(lines().length, MAX_QUEUED, "the batch is full: written at once");
    sink.write("last");
    const until = Date.now() + 2000;
    while (lines().length === MAX_QUEUED && Date.now() < until) {
      await new Promise((r) => setTimeout(r, FLUSH_MS));
    }
    deepEqual(lines(), [...Array.from({ length: MAX_QUEUED }, (_, i) => `line ${i}`), "last"]);
  } finally {
    await sink.close();
    await Deno.remove(dir, { recursive: true });
  }
});
