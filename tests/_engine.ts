/**
 * A real in-memory engine for the tests below the HTTP layer (run_select, respond): opened with
 * the test configuration and set up by one SQL script, and the encoding options they share.
 * @module
 */

import { type Engine, openEngine } from "../lib/db/engine.ts";
import { acquire, createGuard } from "../lib/db/run.ts";
import type { EncodeOptions } from "../lib/encode/encode_rows.ts";
import type { FormatName } from "../lib/encode/formats.ts";
import { testConfig } from "./_helpers.ts";

/** An engine of the test configuration on which `sql` has run. */
export async function openTestEngine(sql: string): Promise<Engine> {
  const engine = await openEngine(await testConfig());
  const setup = await acquire(engine.pool, createGuard(0));
  try {
    await setup.connection.run(sql);
  } finally {
    setup.release();
  }
  return engine;
}

/** Options encoding `format` without a cap (JSON numbers, CSV with commas) for `engine`. */
export function encodeOptions(
  engine: Engine,
  format: FormatName,
  extra: Partial<EncodeOptions> = {},
): EncodeOptions {
  return {
    format,
    cap: 0,
    json: { bigNumbers: "number" as const },
    csv: { delimiter: ",", nullMarker: "" },
    scratchDirectory: engine.scratchDirectory,
    ...extra,
  };
}
