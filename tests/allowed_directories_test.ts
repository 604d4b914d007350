import { equal, ok } from "node:assert/strict";
import { startTestServer } from "./_helpers.ts";

Deno.test("start-up warns about each allowed directory that does not exist", async () => {
  const dir = await Deno.makeTempDir({ prefix: "duckserve-allowed-" });
  try {
    const missing = `${dir}/not-there`;
    await using t = await startTestServer({ allowed_directories: `${dir},${missing}` });
    const warnings = t.logs.map((l) => JSON.parse(l)).filter((e) =>
      e.event === "allowed_directory_missing"
    );
    equal(warnings.length, 1, t.logs.join("\n"));
    equal(warnings[0].level, "warn");
    equal(warnings[0].path, missing);
    ok(String(warnings[0].message).includes("does not exist"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
