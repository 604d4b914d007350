import { equal, rejects } from "node:assert/strict";
import { ApiError, problemBody } from "../../lib/errors.ts";
import { retryOnConflict } from "../../lib/db/run.ts";

const CONFLICT = "TransactionContext Error: Conflict on tuple deletion!";

Deno.test("retryOnConflict() tries a conflicting write three times, then answers 409", async () => {
  let tries = 0;
  const value = await retryOnConflict(() => {
    tries++;
    return tries < 3 ? Promise.reject(new Error(CONFLICT)) : Promise.resolve(42);
  });
  equal(value, 42);
  equal(tries, 3);

  tries = 0;
  await rejects(
    retryOnConflict(() => {
      tries++;
      return Promise.reject(new Error(CONFLICT));
    }),
    (err: unknown) => err instanceof ApiError && err.code === "transaction_conflict",
  );
  equal(tries, 3);

  // Anything else is not retried.
  tries = 0;
  await rejects(
    retryOnConflict(() => {
      tries++;
      return Promise.reject(new Error("Constraint Error: Duplicate key"));
    }),
    /Duplicate key/,
  );
  equal(tries, 1);
});

Deno.test("an internal_error body names the request, never the engine's text", () => {
  const body = problemBody(
    new ApiError("internal_error", "INTERNAL Error: secret stack /usr/lib/libduckdb.so"),
    "req-1",
  );
  equal(body.status, 500);
  equal(body.detail.includes("libduckdb"), false);
  equal(body.detail.includes("req-1"), true);
  equal(body.message, body.detail);
});
