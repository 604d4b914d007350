import { deepEqual, equal, match, ok } from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import formatsModule from "ajv-formats";
import { Hono } from "hono";
import {
  type ApiRoutes,
  buildOpenApi,
  type Endpoint,
  type OpenApiDocument,
} from "../lib/openapi/mod.ts";
import {
  type AppEnv,
  createFeature,
  documentParts,
  documentRoutes,
  mount,
} from "../lib/http/mod.ts";
import type { TableInfo } from "../lib/db/catalog.ts";
import { ApiError, ERROR_CODES, problemBody } from "../lib/errors.ts";
import { FORMATS } from "../lib/encode/formats.ts";
import { consume, startAuthServer, startTestServer, testConfig } from "./_helpers.ts";

const USERS: TableInfo = {
  schema: "main",
  name: "users",
  kind: "table",
  primaryKey: ["id"],
  estimatedRows: 3,
  columns: [
    { name: "id", type: "BIGINT", nullable: false, default: null, primaryKey: true },
    { name: "name", type: "VARCHAR", nullable: false, default: null, primaryKey: false },
    { name: "score", type: "DECIMAL(10,2)", nullable: true, default: null, primaryKey: false },
    {
      name: "created",
      type: "TIMESTAMP",
      nullable: false,
      default: "CURRENT_TIMESTAMP",
      primaryKey: false,
    },
  ],
};
const ORDERS: TableInfo = {
  schema: "sales",
  name: "orders view",
  kind: "view",
  primaryKey: [],
  estimatedRows: 0,
  columns: [{ name: "n", type: "INTEGER", nullable: true, default: null, primaryKey: false }],
};

async function assertValid(doc: unknown): Promise<void> {
  const result = await new Validator().validate(doc as Record<string, unknown>);
  ok(result.valid, `invalid OpenAPI document: ${JSON.stringify(result.errors, null, 2)}`);
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** What a real app registers (streams on): its endpoint rows and the features' document parts. */
async function registered(): Promise<ApiRoutes> {
  await using t = await startTestServer();
  return { endpoints: documentRoutes(t.server.routes).endpoints, parts: documentParts() };
}

Deno.test("buildOpenApi() documents one path and schema per table and is valid OpenAPI 3.1", async () => {
  const config = await testConfig({ auth_enabled: "true" });
  const ENDPOINTS = await registered();
  const doc = buildOpenApi([USERS, ORDERS], config, ENDPOINTS, { docAssets: ["docs.js"] });
  await assertValid(doc);
  equal(doc.openapi, "3.1.0");
  deepEqual(doc.servers.map((s) => s.url), ["/duckdb"]);
  const paths = doc.paths as Any;
  deepEqual(Object.keys(paths["/api/users"]).sort(), [
    "delete",
    "get",
    "post",
    "put",
  ]);
  ok(paths["/api/sales.orders%20view"]?.get, "schema-qualified view path");
  ok(paths["/api/{table}"]?.get, "generic table path");
  const schemas = doc.components.schemas as Any;
  deepEqual(Object.keys(schemas.users.properties), ["id", "name", "score", "created"]);
  equal(schemas.users.properties.id.type, "integer");
  equal(schemas.users.properties.id["x-primary-key"], true);
  deepEqual(schemas.users.properties.score.type, ["number", "null"]);
  deepEqual(schemas.users["x-primary-key"], ["id"]);
  // Insert: NOT NULL without DEFAULT is required, unknown columns refused.
  deepEqual(schemas["users.insert"].required, ["id", "name"]);
  equal(schemas["users.insert"].additionalProperties, false);
  ok(schemas["sales.orders_view"], "component names are sanitized");
  // Per-table operations reference the table's schemas.
  const get = paths["/api/users"].get;
  equal(
    get.responses["200"].content["application/json"].schema.properties.data.items.$ref,
    "#/components/schemas/users",
  );
  const post = paths["/api/users"].post;
  equal(
    post.requestBody.content["application/json"].schema.oneOf[0].$ref,
    "#/components/schemas/users.insert",
  );
  ok(!get.parameters.some((p: Any) => p.$ref === "#/components/parameters/table"));
  // Formats come from the format registry.
  deepEqual(
    Object.keys(get.responses["200"].content).sort(),
    FORMATS.map((f) => f.mimeTypes[0]).sort(),
  );
  // Every endpoint that answers rows documents the output parameters it reads.
  const names = (op: Any) => op.parameters.map((p: Any) => p.$ref.split("/").pop());
  for (const op of [get, paths["/query"].post, paths["/query/{sql}/result.{format}"].get]) {
    for (const name of ["download", "delimiter", "null", "header", "big_numbers"]) {
      ok(names(op).includes(name), `${op.operationId} lacks ${name}`);
    }
  }
  // The filter grammar lists every operator.
  match((doc.components.parameters as Any).filter.description, /\| `nin` \|/);
  // Error codes and the problem body come from lib/errors.ts.
  deepEqual(schemas.ErrorCode.enum, Object.keys(ERROR_CODES));
  deepEqual(
    [...schemas.Problem.required].sort(),
    Object.keys(problemBody(new ApiError("forbidden"), "r")).sort(),
  );
  // Secured operations list 401/403; public ones opt out of security.
  ok(get.responses["401"] && get.responses["403"] && get.responses["500"]);
  deepEqual(paths["/health"].get.security, []);
  deepEqual(doc.security, [{ apiKey: [] }, { bearer: [] }]);
  deepEqual(Object.keys(doc.components.securitySchemes), ["apiKey", "bearer"]);
  equal((doc.components.securitySchemes as Any).apiKey.name, "X-API-Key");
});

Deno.test("buildOpenApi() leaves out tables and operations the caller may not use", async () => {
  const config = await testConfig({ auth_enabled: "true" });
  const ENDPOINTS = await registered();
  const doc = buildOpenApi([USERS, ORDERS], config, ENDPOINTS, {
    can: (op, t) => t.name === "users" && op === "r",
  });
  await assertValid(doc);
  const paths = doc.paths as Any;
  deepEqual(Object.keys(paths["/api/users"]), ["get"]);
  ok(!Object.keys(paths).some((p) => p.includes("orders")));
  ok(!Object.keys(doc.components.schemas).some((s) => s.includes("orders")));
  match(String(doc.info.description), /you may read: `users`/);
  const none = buildOpenApi([USERS], config, ENDPOINTS, { can: () => false });
  ok(!("/api/users" in none.paths) && !("users" in none.components.schemas));
  match(String(none.info.description), /send an API key/);
});

Deno.test("buildOpenApi() documents only the registered endpoints, under the configured prefix", async () => {
  const ENDPOINTS = await registered();
  const root = buildOpenApi(
    [USERS],
    await testConfig({ route_prefix: "/" }),
    { ...ENDPOINTS, endpoints: ENDPOINTS.endpoints.slice(0, 2) },
  );
  deepEqual(root.servers.map((s) => s.url), ["/"]);
  deepEqual(Object.keys(root.paths), ["/health", "/livez"]);
  const v1 = buildOpenApi([], await testConfig({ route_prefix: "/api/v1" }), ENDPOINTS);
  deepEqual(v1.servers.map((s) => s.url), ["/api/v1"]);
  equal(v1.security, undefined, "auth off: no security requirement");
  await assertValid(v1);
});

/** A row for routes registered in the tests below. */
function row(method: Endpoint["method"], route: string): Endpoint {
  return {
    method,
    route,
    path: route,
    operationId: route,
    tag: "Probes",
    summary: route,
    responses: [],
    errors: [],
  };
}

Deno.test("documentRoutes() finds routes registered without a registry row", () => {
  const app = new Hono<AppEnv>();
  app.use("/duckdb/*", async (_c, next) => await next());
  const feature = createFeature();
  feature.route(row("GET", "/livez"), (c) => c.text("ok"));
  mount(app, "/duckdb", feature);
  app.get("/duckdb/secret", (c) => c.text("hidden"));
  const { endpoints, undocumented } = documentRoutes(app.routes);
  deepEqual(endpoints.map((e) => e.route), ["/livez"]);
  deepEqual(undocumented, ["GET /duckdb/secret"]);
});

/** A real server (keys from the real store, streams in memory) for the route coverage test. */
async function startApp() {
  // public_schema: the anonymous document shows the whole catalog, as the reference's did.
  const t = await startAuthServer({ flags: { public_schema: "true" } });
  const origin = new URL(t.url).origin;
  return {
    routes: t.server.routes,
    config: t.config,
    origin,
    base: t.url,
    admin: t.as(t.keys.admin),
    [Symbol.asyncDispose]: () => t[Symbol.asyncDispose](),
  };
}

/** A URL to try a documented path with: under the path item's own server when it has one. */
function sampleUrl(
  s: { base: string; origin: string },
  path: string,
  item: Record<string, unknown>,
  table: string,
): string {
  const base = item.servers ? s.origin : s.base;
  return base + path
    .replace("{table}", table)
    .replace("{path}", "sample/stream")
    .replace("{asset}", "docs.js")
    .replace("{sql}", encodeURIComponent("SELECT 42 AS answer"))
    .replace("{format}", "json");
}

Deno.test("GET /openapi.json is public, valid, and lists exactly the routes the server answers", async () => {
  await using s = await startApp();
  const { admin } = s;
  await consume(
    await fetch(`${s.base}/query`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v VARCHAR)" }),
    }),
  );

  const anonymous = await consume(await fetch(`${s.base}/openapi.json`));
  equal(anonymous.status, 200);
  await assertValid(anonymous.body);
  ok("t" in anonymous.body.components.schemas, "no key: the whole catalog");
  ok(Object.keys(anonymous.body.paths).some((p) => p.endsWith("/api/t")), "a path per table");

  const reply = await consume(await fetch(`${s.base}/openapi.json`, { headers: admin }));
  equal(reply.status, 200);
  const doc = reply.body as OpenApiDocument;
  await assertValid(doc);
  ok("t" in doc.components.schemas, "the admin key sees table t");

  // Every registered route has a registry row (the streams route included) ...
  const { endpoints, undocumented } = documentRoutes(s.routes);
  deepEqual(undocumented, []);
  ok(endpoints.some((e) => e.base === "streams"), "the streams endpoints are registered");
  // ... and the document holds exactly those endpoints (plus their per-table instances).
  const expected = new Set<string>();
  for (const e of endpoints) {
    const path = e.base === "streams" ? s.config.streams_prefix + e.path : e.path;
    for (const m of e.method === "ALL" ? e.documentAs ?? ["GET"] : [e.method]) {
      expected.add(`${m} ${path}`);
    }
  }
  const tableOps = endpoints.filter((e: Endpoint) => e.tableOp);
  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item).filter((k) => k !== "servers")) {
      const key = `${method.toUpperCase()} ${path}`;
      const perTable = tableOps.some((e) =>
        e.method === method.toUpperCase() && path === e.path.replace("{table}", "t")
      );
      if (!perTable) documented.add(key);
    }
  }
  deepEqual([...documented].sort(), [...expected].sort());

  // Every documented operation is really answered (no 404 route_not_found, no 405), and
  // with a success status of the document for the streams protocol (PUT runs first).
  for (const [path, item] of Object.entries(doc.paths)) {
    const methods = Object.keys(item).filter((k) => k !== "servers")
      .sort((a, b) => Number(b === "put") - Number(a === "put"));
    for (const method of methods) {
      const init: RequestInit = { method: method.toUpperCase(), headers: admin };
      if (method === "post" || method === "put") init.body = JSON.stringify({ sql: "SELECT 1" });
      const answer = await consume(await fetch(sampleUrl(s, path, item, "t"), init));
      const what = `${method} ${path} is documented but answers ${answer.status} ${
        answer.text.slice(0, 200)
      }`;
      ok(answer.status !== 405 && answer.body?.code !== "route_not_found", what);
      if (item.servers) ok(String(answer.status) in (item[method] as Any).responses, what);
    }
  }
});

Deno.test("GET /openapi.json without a key lists no tables unless public_schema is true", async () => {
  const tablesOf = (doc: OpenApiDocument) => ({
    paths: Object.keys(doc.paths).filter((p) => /^\/api\/[^{]/.test(p)).sort(),
    schemas: ["users", "hidden"].filter((n) => n in doc.components.schemas),
    tags: doc.tags.map((tag) => tag.name).filter((n) => n === "users" || n === "hidden"),
  });
  for (const flag of [null, "false", "true"]) {
    await using t = await startAuthServer({
      roles: { users_reader: [["users", "r"]] },
      flags: flag === null ? {} : { public_schema: flag },
    });
    const admin = t.as(t.keys.admin);
    await t.query(
      "CREATE TABLE users (id INTEGER PRIMARY KEY); CREATE TABLE hidden (x INT)",
      [],
      admin,
    );
    const anonymous = await t.request("/openapi.json");
    equal(anonymous.status, 200);
    await assertValid(anonymous.body);
    const description = String(anonymous.body.info.description);
    if (flag === "true") {
      deepEqual(tablesOf(anonymous.body), {
        paths: ["/api/hidden", "/api/users"],
        schemas: ["users", "hidden"],
        tags: ["hidden", "users"],
      });
      match(description, /Tables and views you may read: `hidden`, `users`/);
    } else {
      deepEqual(tablesOf(anonymous.body), { paths: [], schemas: [], tags: [] }, `${flag}`);
      match(description, /No tables are listed: send an API key/);
      ok(!JSON.stringify(anonymous.body).includes("hidden"), "no trace of a table name");
    }
    // With a key: the tables that key may use, whatever public_schema says.
    const reader = (await t.request("/openapi.json", { headers: t.as(t.keys.users_reader) })).body;
    deepEqual(tablesOf(reader), { paths: ["/api/users"], schemas: ["users"], tags: ["users"] });
    deepEqual(Object.keys(reader.paths["/api/users"]), ["get"], "read only");
    const all = (await t.request("/openapi.json", { headers: admin })).body;
    deepEqual(tablesOf(all).paths, ["/api/hidden", "/api/users"]);
  }
  // Without authentication every caller may use every table: the document shows them all.
  await using open = await startTestServer();
  await open.query("CREATE TABLE users (id INTEGER)");
  deepEqual(tablesOf((await open.request("/openapi.json")).body).paths, ["/api/users"]);
});

Deno.test("GET /openapi.json: a bad key is 401, other methods are 405", async () => {
  await using s = await startApp();
  const bad = await consume(
    await fetch(`${s.base}/openapi.json`, { headers: { "x-api-key": "wrong-key-0000000000" } }),
  );
  equal(bad.status, 401);
  equal(bad.body.code, "unauthorized");
  const post = await consume(await fetch(`${s.base}/openapi.json`, { method: "POST" }));
  equal(post.status, 405);
  equal(post.headers.get("allow"), "GET, HEAD");
  equal(post.headers.get("content-type"), "application/problem+json");
});

Deno.test("per-table reads carry examples from the table's own columns, and they run", async () => {
  await using t = await startTestServer();
  await t.query(
    `CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR, created TIMESTAMP);
     INSERT INTO users VALUES (1, '100%', '2025-01-01'), (2, NULL, NULL);
     CREATE TABLE "a%b" ("v,1" VARCHAR, "k:x|\\" INTEGER); INSERT INTO "a%b" VALUES ('x', 1);
     CREATE TABLE nums (l INTEGER[], n INTEGER); INSERT INTO nums VALUES ([1], 2);
     CREATE VIEW "orders view" AS SELECT n FROM nums`,
  );
  const doc = (await t.request("/openapi.json")).body;
  await assertValid(doc);
  const examplesOf = (path: string, method = "get") =>
    Object.fromEntries(
      (doc.paths[path][method].parameters as Any[])
        .map((p) => doc.components.parameters[p.$ref.split("/").pop()])
        .filter((p) => p.example !== undefined)
        .map((p) => [p.name, p.example]),
    );
  deepEqual(examplesOf("/api/users"), {
    filter: "name:like:%",
    sort: "id:desc",
    select: "id,name,created",
  });
  deepEqual(examplesOf("/api/a%25b"), {
    filter: "v\\,1:like:%",
    sort: "v\\,1:desc",
    select: "v\\,1,k\\:x\\|\\\\",
  });
  deepEqual(examplesOf("/api/nums"), { filter: "n:is:notnull", sort: "n:desc", select: "l,n" });
  deepEqual(examplesOf("/api/orders%20view").filter, "n:is:notnull");
  // No write operation is given a where or on_conflict to send by itself.
  for (const method of ["post", "put", "delete"]) {
    deepEqual(examplesOf("/api/users", method), {}, method);
  }
  // The generic parameters carry no example naming columns some table may not have.
  for (const name of ["filter", "sort", "select"]) {
    equal(doc.components.parameters[name].example, undefined, name);
  }
  ok(!JSON.stringify(doc).includes("A%25"), "a value written pre-encoded");
  // What "Try it out" sends: each example, encoded once, answers 200 with rows.
  const expected: Record<string, number> = {
    "/api/users": 1,
    "/api/a%25b": 1,
    "/api/nums": 1,
    "/api/orders%20view": 1,
  };
  for (const [path, rows] of Object.entries(expected)) {
    const query = new URLSearchParams(examplesOf(path));
    const r = await t.request(`${path}?${query}`);
    deepEqual([r.status, r.body.data?.length], [200, rows], `${path}?${query}: ${r.text}`);
  }
  deepEqual(
    (await t.request(`/api/users?${new URLSearchParams(examplesOf("/api/users"))}`))
      .body.data,
    [{ id: 1, name: "100%", created: "2025-01-01T00:00:00" }],
  );
});

Deno.test("per-table schemas in /openapi.json match the rows the server sends", async () => {
  await using s = await startApp();
  const { admin } = s;
  const query = async (sql: string) =>
    await consume(
      await fetch(`${s.base}/query`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ sql }),
      }),
    );
  await query(`CREATE TYPE mood AS ENUM ('sad', 'happy')`);
  await query(`CREATE TABLE every_type (
    i TINYINT, b BIGINT NOT NULL, h HUGEINT, u UBIGINT, d DECIMAL(12,3), f DOUBLE, r REAL,
    s VARCHAR, bl BLOB, id UUID, dt DATE, tm TIME, ts TIMESTAMP, tz TIMESTAMPTZ, iv INTERVAL,
    l INTEGER[], a VARCHAR[2], st STRUCT("a b" INTEGER, c VARCHAR[]), m MAP(VARCHAR, INTEGER),
    mi MAP(INTEGER, VARCHAR), e mood, un UNION(n INTEGER, t VARCHAR), j JSON, bo BOOLEAN, bit BIT)`);
  await query(`INSERT INTO every_type VALUES
    (1, 9007199254740993, 170141183460469231731687303715884105727, 18446744073709551615,
     123456789.125, 'NaN', 1.5, 'x', '\\xAA\\xBB'::BLOB, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
     DATE '2024-02-29', TIME '12:34:56.789', TIMESTAMP '2024-01-02 03:04:05.123456',
     TIMESTAMPTZ '2024-01-02 03:04:05+00', INTERVAL '1 year 2 days 3 seconds', [1, NULL],
     ['p', 'q'], {'a b': 7, 'c': ['z']}, MAP {'k': 1}, MAP {1: 'one'}, 'happy',
     union_value(t := 'text'), '{"x": [1]}', true, '0101'::BIT),
    (NULL, -1, NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
  const doc = (await consume(await fetch(`${s.base}/openapi.json`, { headers: admin }))).body;
  const rows = (await query("SELECT * FROM every_type")).body.data;
  equal(rows.length, 2);
  const ajv = new Ajv2020({ strict: false });
  // ajv-formats is CommonJS: its default export arrives as the module object.
  const addFormats = ((formatsModule as unknown as { default?: unknown }).default ??
    formatsModule) as unknown as (ajv: Ajv2020) => void;
  addFormats(ajv);
  const validate = ajv.compile(doc.components.schemas.every_type);
  for (const row of rows) {
    ok(validate(row), `${JSON.stringify(row)}: ${JSON.stringify(validate.errors)}`);
  }
  // And the schema is not vacuous: a wrong type is rejected.
  ok(!validate({ ...rows[0], dt: 12 }));
  ok(!validate({ ...rows[0], e: "angry" }));
});

Deno.test("buildOpenApi() documents the streams endpoints at streams_prefix, from the server root", async () => {
  const ENDPOINTS = await registered();
  const rows = ENDPOINTS.endpoints.filter((e) => e.base === "streams");
  const config = await testConfig({ auth_enabled: "true", streams_prefix: "/events" });
  const doc = buildOpenApi([USERS], config, ENDPOINTS);
  await assertValid(doc);
  const item = doc.paths["/events/{path}"] as Any;
  deepEqual(item.servers.map((s: Any) => s.url), ["/"], "outside route_prefix");
  deepEqual(
    Object.keys(item).filter((k) => k !== "servers").sort(),
    ["delete", "get", "head", "options", "post", "put"],
  );
  equal(rows.length, 6);
  // offset, live and cursor on GET; the protocol's headers on its answers
  deepEqual(
    item.get.parameters.map((p: Any) => p.$ref.split("/").pop()),
    ["streamPath", "offset", "live", "cursor", "ifNoneMatch"],
  );
  deepEqual((doc.components.parameters as Any).live.schema.enum, ["long-poll", "sse"]);
  ok(item.get.responses["200"].headers["Stream-Next-Offset"]);
  ok(item.get.responses["200"].content["text/event-stream"]);
  ok(item.get.responses["204"] && item.get.responses["304"]);
  ok(item.post.responses["409"].description.includes("`producer_seq_gap`"));
  ok(item.put.responses["201"].headers.Location);
  equal(item.put.responses["201"].content, undefined, "no body");
  ok(item.put.requestBody.content["*/*"]);
  // keys needed, except for CORS preflights
  ok(item.get.responses["401"] && item.get.responses["403"]);
  deepEqual(item.options.security, []);
  equal(item.options.responses["401"], undefined);
  // streams_auth none: no key
  const open = buildOpenApi([], await testConfig({ auth_enabled: "true", streams_auth: "none" }), {
    endpoints: [...rows],
    parts: ENDPOINTS.parts,
  });
  await assertValid(open);
  deepEqual((open.paths["/v1/stream/{path}"] as Any).post.security, []);
  equal((open.paths["/v1/stream/{path}"] as Any).post.responses["401"], undefined);
});

Deno.test("documentRoutes() matches the streams route with the streams rows, only when mounted", async () => {
  await using on = await startTestServer();
  const mounted = documentRoutes(on.server.routes);
  deepEqual(mounted.undocumented, []);
  deepEqual(mounted.endpoints.filter((e) => e.base === "streams").map((e) => e.documentAs), [
    ["PUT"],
    ["HEAD"],
    ["GET"],
    ["POST"],
    ["DELETE"],
    ["OPTIONS"],
  ]);
  await using streamless = await startTestServer({ streams: "false" });
  const off = documentRoutes(streamless.server.routes);
  deepEqual(off.undocumented, []);
  deepEqual(off.endpoints.filter((e) => e.base === "streams"), []);
  // A streams route registered by hand, without its rows, is undocumented.
  const app = new Hono();
  app.all("/v1/stream/*", (c) => c.text("stream"));
  deepEqual(documentRoutes(app.routes).undocumented, ["ALL /v1/stream/*"]);
});
