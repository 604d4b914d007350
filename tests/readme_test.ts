import { equal, ok } from "node:assert/strict";
import { CONFIG_KEYS } from "../lib/config.ts";
import { formatDuration } from "../lib/units.ts";
import { ERROR_CODES } from "../lib/errors.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));

function tableRows(firstHeader: string): string[][] {
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${firstHeader}\\s*\\|`).test(l));
  ok(start >= 0, `README has a table starting with "| ${firstHeader} |"`);
  const rows: string[][] = [];
  for (let i = start + 2; i < lines.length && lines[i].startsWith("|"); i++) {
    rows.push(lines[i].split(/\s\|\s/).map((cell) => cell.replace(/^\|\s*|\s*\|$/g, "").trim()));
  }
  return rows;
}

Deno.test("README's configuration table lists exactly the config keys, with env, flag and default", () => {
  const rows = tableRows("key");
  equal(rows.map((r) => r[0]).join(" "), CONFIG_KEYS.map((k) => `\`${k.key}\``).join(" "));
  for (const spec of CONFIG_KEYS) {
    const row = rows.find((r) => r[0] === `\`${spec.key}\``)!;
    equal(row[3], `\`${spec.env}\``, spec.key);
    equal(row[4], `\`--${spec.flag}\``, spec.key);
    if (spec.kind === "duration") equal(row[2], `\`${formatDuration(spec.default as number)}\``);
    if (spec.kind === "int" || spec.kind === "bool") equal(row[2], `\`${spec.default}\``, spec.key);
  }
});

Deno.test("README's error table lists exactly the error codes with their statuses", () => {
  const rows = tableRows("code");
  equal(rows.length, Object.keys(ERROR_CODES).length);
  for (const [code, [status]] of Object.entries(ERROR_CODES)) {
    const row = rows.find((r) => r[0] === `\`${code}\``);
    ok(row, `README documents ${code}`);
    equal(row![1], String(status), code);
  }
});

Deno.test("README's library table names what deno.json and tools/conformance import, and nothing else", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const conformance = JSON.parse(
    await Deno.readTextFile(new URL("../tools/conformance/package.json", import.meta.url)),
  );
  const packages = new Set([
    // deno.json's npm imports ("hono/" and "hono" are one package); node: built-ins map nowhere.
    ...Object.keys(config.imports).filter((k) => !k.startsWith("node:")).map((k) =>
      k.replace(/\/$/, "")
    ),
    ...Object.keys(conformance.devDependencies),
  ]);
  const named = new Set(
    tableRows("library").flatMap((row) =>
      [...row[0].split(" (")[0].matchAll(/`([^`]+)`/g)].map((m) => m[1].split(" ")[0])
    ),
  );
  const builtIn = [...named].filter((name) => name.startsWith("node:"));
  ok(builtIn.every((name) => /^node:[a-z_]+$/.test(name)), "built-ins are node: modules");
  equal(
    [...named].filter((name) => !name.startsWith("node:")).sort().join(" "),
    [...packages].sort().join(" "),
  );
});
