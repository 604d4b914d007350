import { equal, ok } from "node:assert/strict";
import { CONFIG_KEYS } from "../lib/config.ts";

const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** The `duckdb` block directives of the reference (its example Caddyfile and JSON handler). */
const REFERENCE_DIRECTIVES = [
  "database_path",
  "auth_database_path",
  "query_timeout",
  "max_rows_per_page",
  "absolute_max_rows",
  "threads",
  "access_mode",
  "memory_limit",
  "enable_object_cache",
  "temp_directory",
];

Deno.test("README maps every Caddyfile directive of the reference to a real config key", () => {
  const section = readme.slice(readme.indexOf("## Migrating from caddy-duckdb-module"));
  const lines = section.split("\n");
  const start = lines.findIndex((l) => /^\|\s*Caddyfile\s*\|/.test(l));
  ok(start >= 0, "the mapping table");
  const rows: string[][] = [];
  for (let i = start + 2; lines[i]?.startsWith("|"); i++) {
    rows.push(lines[i].split(/\s\|\s/).map((c) => c.replace(/^\|\s*|\s*\|$/g, "").trim()));
  }
  const keys = new Set(CONFIG_KEYS.map((k) => k.key));
  for (const directive of REFERENCE_DIRECTIVES) {
    const row = rows.find((r) => r[0] === `\`${directive}\``);
    ok(row, `README maps ${directive}`);
    ok(row![1].startsWith(`\`${directive}\``), `${directive} maps to the key of its name`);
    ok(keys.has(directive as never), `${directive} is a config key`);
  }
  for (const row of rows) {
    for (const [, key] of row[1].matchAll(/`([a-z_]+)`/g)) ok(keys.has(key as never), key);
  }
  equal(rows.filter((r) => r[0].startsWith("site address")).length, 1);
});
