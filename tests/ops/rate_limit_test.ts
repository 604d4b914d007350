import { deepEqual, equal, match, ok } from "node:assert/strict";
import { addRole, readAuthData, setPermission, setRoleLimit } from "../../lib/auth/store.ts";
import { parseOperations } from "../../lib/permissions.ts";
import { startAuthServer, startTestServer } from "../_helpers.ts";

Deno.test("a rate-limited key gets 429 rate_limited while another key is unaffected", async () => {
  await using t = await startAuthServer();
  await addRole(t.authPath, "metered", "three at once, then 1/s", { rate: "1/s", burst: 3 });
  await setPermission(t.authPath, "metered", "*", parseOperations("r"));
  const metered = await t.mintKey({ role: "metered" });
  const other = await t.mintKey({ role: "metered" });
  // Both keys known to the server (the admin key's answer needs no token of theirs).
  ok(
    await t.eventually(async () =>
      (await t.request("/tables", { headers: t.as(other) })).status === 200
    ),
  );
  ok(
    await t.eventually(async () =>
      (await t.request("/tables", { headers: t.as(metered) })).status === 200
    ),
  );

  // The bucket refills 1/s; a burst of 3 is used up by the probe above and two more.
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await t.request("/tables", { headers: t.as(metered) }));
  const allowed = answers.filter((r) => r.status === 200);
  const refused = answers.filter((r) => r.status === 429);
  ok(allowed.length >= 1 && refused.length >= 1, answers.map((r) => r.status).join(","));
  const first = allowed[0];
  equal(first.headers.get("ratelimit-policy"), '"key";q=3;w=3');
  match(first.headers.get("ratelimit")!, /^"key";r=[0-2];t=[1-3]$/);

  const no = refused[0];
  equal(no.body.code, "rate_limited");
  equal(no.headers.get("content-type"), "application/problem+json");
  match(no.headers.get("retry-after")!, /^[1-9]$/);
  match(no.headers.get("ratelimit")!, /^"key";r=0;t=\d+$/);
  equal(no.headers.get("ratelimit-policy"), '"key";q=3;w=3');
  match(no.body.detail, /this API key/);
  ok(no.body.request_id);

  // Another key of the same role has its own bucket; an unlimited role has no headers at all.
  const mine = await t.request("/tables", { headers: t.as(other) });
  equal(mine.status, 200);
  const admin = await t.request("/tables", { headers: t.as(t.keys.admin) });
  equal(admin.status, 200);
  equal(admin.headers.get("ratelimit"), null);
  // Health is never limited.
  equal((await t.request("/health", { headers: t.as(metered) })).status, 200);
});

Deno.test("a role's rate limit changes while the server runs", async () => {
  await using t = await startAuthServer({ roles: { burst: [["*", "r"]] } });
  const key = t.keys.burst;
  equal((await t.request("/tables", { headers: t.as(key) })).headers.get("ratelimit"), null);
  await setRoleLimit(t.authPath, "burst", { rate: "1/m", burst: 1 });
  const data = await readAuthData(t.authPath);
  deepEqual(
    data.roles.filter((r) => r.name === "burst").map((r) => [r.rateLimit, r.rateBurst]),
    [["1/m", 1]],
  );
  ok(
    await t.eventually(async () =>
      (await t.request("/tables", { headers: t.as(key) })).status === 429
    ),
    "the new limit never applied",
  );
  const refused = await t.request("/tables", { headers: t.as(key) });
  equal(refused.body.code, "rate_limited");
  ok(Number(refused.headers.get("retry-after")) > 1);
  await setRoleLimit(t.authPath, "burst", null);
  ok(
    await t.eventually(async () =>
      (await t.request("/tables", { headers: t.as(key) })).status === 200
    ),
  );
  // Rate-limited requests are counted by scope.
  const metrics = await t.request("/metrics", { headers: t.as(t.keys.admin) });
  match(metrics.text, /^duckserve_rate_limited_total\{scope="key"\} [1-9]/m);
});

Deno.test("anonymous_rate_limit limits requests without a key per client address", async () => {
  await using t = await startTestServer({
    anonymous_rate_limit: "1/m",
    anonymous_rate_burst: "2",
    client_ip_header: "x-forwarded-for",
    trusted_proxies: "127.0.0.1/32",
  });
  const from = (ip: string) => ({ headers: { "x-forwarded-for": `${ip}, 127.0.0.1` } });
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await t.query("SELECT 1", [], from("203.0.113.5").headers)).status);
  }
  deepEqual(statuses, [200, 200, 429]);
  // Another client behind the same proxy has its own bucket.
  const other = await t.query("SELECT 1", [], from("203.0.113.6").headers);
  equal(other.status, 200);
  equal(other.headers.get("ratelimit-policy"), '"address";q=2;w=120');
  equal(other.headers.get("ratelimit"), '"address";r=1;t=60');
  // Probes are never limited.
  for (let i = 0; i < 3; i++) {
    equal((await t.request("/livez", from("203.0.113.5"))).status, 200);
    equal((await t.request("/health", from("203.0.113.5"))).status, 200);
  }
});

Deno.test("client_ip_header is believed only from trusted_proxies", async () => {
  await using t = await startTestServer({
    anonymous_rate_limit: "1/m",
    anonymous_rate_burst: "1",
    client_ip_header: "forwarded",
    trusted_proxies: "10.0.0.0/8",
  });
  // The loopback peer is not a trusted proxy: every request counts against 127.0.0.1.
  const first = await t.query("SELECT 1", [], { forwarded: "for=198.51.100.1" });
  const second = await t.query("SELECT 1", [], { forwarded: "for=198.51.100.2" });
  deepEqual([first.status, second.status], [200, 429]);
});

Deno.test("a key's rate limit covers the Durable Streams endpoints too", async () => {
  await using t = await startAuthServer();
  await addRole(t.authPath, "streamer", null, { rate: "1/m", burst: 2 });
  await setPermission(t.authPath, "streamer", "stream:feed/*", parseOperations("rc"));
  const key = await t.mintKey({ role: "streamer" });
  let created = await t.stream("feed/a", { method: "PUT", headers: t.as(key) });
  for (let i = 0; i < 40 && created.status === 401; i++) {
    await new Promise((r) => setTimeout(r, 50));
    created = await t.stream("feed/a", { method: "PUT", headers: t.as(key) });
  }
  equal(created.status, 201);
  equal(created.headers.get("ratelimit"), '"key";r=1;t=60');
  equal(created.headers.get("ratelimit-policy"), '"key";q=2;w=120');
  equal((await t.stream("feed/a?offset=-1", { headers: t.as(key) })).status, 200);
  const refused = await t.stream("feed/a?offset=-1", { headers: t.as(key) });
  equal(refused.status, 429);
  equal(refused.body.code, "rate_limited");
  ok(refused.headers.get("retry-after"));
});
