import { equal } from "node:assert/strict";
import { createFailureLimiter } from "../../lib/auth/limiter.ts";

Deno.test("createFailureLimiter() blocks an address after the limit until its window ends", () => {
  let now = 1000;
  const limiter = createFailureLimiter({ limit: 3, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 3; i++) {
    equal(limiter.retryAfter("a"), null);
    limiter.fail("a");
  }
  equal(limiter.retryAfter("a"), 60);
  equal(limiter.retryAfter("b"), null, "other addresses are not affected");
  now += 30_500;
  equal(limiter.retryAfter("a"), 30);
  now += 29_500;
  equal(limiter.retryAfter("a"), null);
  limiter.fail("a");
  equal(limiter.retryAfter("a"), null, "a new window starts");
});

Deno.test("createFailureLimiter() with limit 0 never blocks", () => {
  const limiter = createFailureLimiter({ limit: 0, windowMs: 60_000 });
  for (let i = 0; i < 100; i++) limiter.fail("a");
  equal(limiter.retryAfter("a"), null);
});

Deno.test("createFailureLimiter() keeps memory bounded", () => {
  let now = 0;
  const limiter = createFailureLimiter({
    limit: 1,
    windowMs: 1000,
    now: () => now,
    maxEntries: 10,
  });
  for (let i = 0; i < 100; i++) limiter.fail(`addr${i}`);
  // the most recent ones are still tracked, the oldest were dropped
  equal(limiter.retryAfter("addr99"), 1);
  equal(limiter.retryAfter("addr0"), null);
  now = 5000;
  limiter.fail("fresh");
  equal(limiter.retryAfter("fresh"), 1);
});
