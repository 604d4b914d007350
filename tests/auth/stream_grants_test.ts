import { equal, ok, throws } from "node:assert/strict";
import { isStreamTable } from "../../lib/permissions.ts";
import { matchesStreamGrant, parseStreamGrant } from "../../lib/auth/stream_grants.ts";

Deno.test("matchesStreamGrant() matches exact names, segment globs and ** globs", () => {
  ok(matchesStreamGrant("stream:orders", "orders"));
  ok(!matchesStreamGrant("stream:orders", "orders/eu"));
  ok(!matchesStreamGrant("stream:orders", "Orders"), "stream paths are case-sensitive");
  ok(matchesStreamGrant("stream:orders/*", "orders/eu"));
  ok(!matchesStreamGrant("stream:orders/*", "orders/eu/2024"));
  ok(!matchesStreamGrant("stream:orders/*", "orders"));
  ok(matchesStreamGrant("stream:orders/**", "orders/eu/2024"));
  ok(matchesStreamGrant("stream:**", "logs/app.v2"));
  ok(matchesStreamGrant("stream:*", "logs"));
  ok(!matchesStreamGrant("stream:*", "logs/app"));
  ok(matchesStreamGrant("stream:logs/app.v?", "logs/app.v2"));
  ok(!matchesStreamGrant("stream:logs/app.v?", "logs/appXv2"), "a dot is literal");
  ok(matchesStreamGrant("stream:_changes/*", "_changes/orders"));
});

Deno.test("matchesStreamGrant() ignores grants that are not stream grants", () => {
  ok(!matchesStreamGrant("*", "orders"));
  ok(!matchesStreamGrant("orders", "orders"));
  ok(!matchesStreamGrant("main.orders", "orders"));
});

Deno.test("parseStreamGrant() accepts names and globs and refuses empty ones", () => {
  equal(parseStreamGrant("stream:orders/*"), "stream:orders/*");
  equal(parseStreamGrant("stream:**"), "stream:**");
  throws(() => parseStreamGrant("stream:"), /expected stream:/);
  throws(() => parseStreamGrant("orders"), /expected stream:/);
  throws(() => parseStreamGrant("stream:a//b"), /empty segment/);
  ok(isStreamTable("stream:x") && !isStreamTable("streams"));
});
