import { equal } from "node:assert/strict";
import { loadConfig } from "../lib/config.ts";
import { parseDuration } from "../lib/units.ts";

Deno.test("parseDuration() reads Go's time.ParseDuration syntax (and Caddy's d)", () => {
  const cases: [string, number][] = [
    ["1m30s", 90_000],
    ["1h2m3.5s", 3_723_500],
    ["300ms", 300],
    ["2h45m", 9_900_000],
    ["1.5h", 5_400_000],
    [".5s", 500],
    ["5.s", 5000],
    ["1500us", 2],
    ["1500\u00b5s", 2],
    ["2000000ns", 2],
    ["+10s", 10_000],
    ["0", 0],
    ["0s", 0],
    ["1d", 86_400_000],
  ];
  for (const [text, ms] of cases) equal(parseDuration(text), ms, text);
  for (const bad of ["10", "-5s", "1m30", "m", "1e3s", "1..5s", "", "1 s", "10 sec"]) {
    equal(parseDuration(bad), null, bad);
  }
});

Deno.test("duration config keys take Go-style values from every source", async () => {
  const config = await loadConfig({
    env: { DUCKDB_QUERY_TIMEOUT: "1m30s" },
    flags: { shutdown_grace: "1h2m3.5s", long_poll_timeout: "300ms" },
  });
  equal(config.query_timeout, 90_000);
  equal(config.shutdown_grace, 3_723_500);
  equal(config.long_poll_timeout, 300);
});
