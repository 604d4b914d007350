import { equal } from "node:assert/strict";
import { floatText, isoInterval, jsonString } from "../../lib/encode/value_text.ts";

Deno.test("floatText() writes the shortest round-trip text like DuckDB's JSON writer", () => {
  const doubles: [number, string][] = [
    [1, "1.0"],
    [0.1, "0.1"],
    [1e20, "100000000000000000000.0"],
    [1e21, "1e21"],
    [1.5e300, "1.5e300"],
    [1e-7, "1e-7"],
    [0.000001, "0.000001"],
    [-0, "-0.0"],
    [5e-324, "5e-324"],
    [NaN, "NaN"],
    [-Infinity, "-Infinity"],
  ];
  for (const [value, text] of doubles) equal(floatText(value, false), text, String(value));
  equal(floatText(Math.fround(1.1), true), "1.1");
  equal(floatText(Math.fround(3.14159), true), "3.14159");
  equal(floatText(Math.fround(16777216), true), "16777216.0");
  equal(floatText(Math.fround(1e20), true), "100000000000000000000.0");
});

Deno.test("jsonString() escapes control characters with upper-case hex", () => {
  equal(jsonString("a\u0001\u001fé"), '"a\\u0001\\u001Fé"');
  equal(jsonString('q"\\n\n'), '"q\\"\\\\n\\n"');
  equal(jsonString("\\u00ab"), '"\\\\u00ab"'); // text that looks like an escape stays as is
});

Deno.test("isoInterval() writes ISO 8601 durations with signed parts", () => {
  equal(isoInterval(14, 3, 14706789000n), "P1Y2M3DT4H5M6.789S");
  equal(isoInterval(-10, -3, -14706500000n), "P-10M-3DT-4H-5M-6.5S");
  equal(isoInterval(0, 0, 0n), "PT0S");
  equal(isoInterval(0, 0, -500000n), "PT-0.5S");
  equal(isoInterval(0, 0, 129600000000n), "PT36H");
  equal(isoInterval(12, 0, 1n), "P1YT0.000001S");
});
