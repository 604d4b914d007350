/**
 * `GET {prefix}/admin/databases` lists the attached databases; `POST {prefix}/admin/databases`
 * attaches and detaches while serving: `{"attach": {name: entry}, "detach": [name]}`, entries
 * shaped as in the `databases` key (files and `:memory:` only: no attach strings, no options).
 * The whole body is checked first (400 `invalid_config` listing every problem, nothing
 * changes); then the attaches run (one DuckDB refuses: the ones this request attached are
 * detached again, 409 `attach_failed`), then the detaches (one DuckDB refuses: 409
 * `attach_failed`, the ones before it stay detached). Both need an admin key. The start-up
 * configuration (`GET {prefix}/admin/config`) is left as it was: a database attached here is
 * gone after a restart unless it is added to `databases`.
 * @module
 */

import { catalogNameOf } from "../catalog_name.ts";
import {
  attachTarget,
  checkDatabase,
  databaseNameProblem,
  type DatabaseSpec,
  describeDatabases,
  pathProblem,
} from "../config_databases.ts";
import { AttachError } from "../db/attach.ts";
import type { Engine } from "../db/engine.ts";
import { ApiError } from "../errors.ts";
import type { Endpoint } from "../openapi/mod.ts";
import { requireAdmin } from "./admin.ts";
import { readJsonBody } from "./body.ts";
import type { AppContext } from "./context.ts";
import { createFeature, type Feature } from "./feature.ts";

const GET_DATABASES: Endpoint = {
  method: "GET",
  route: "/admin/databases",
  path: "/admin/databases",
  operationId: "listDatabases",
  tag: "Operations",
  summary: "The attached databases",
  description: "Every database attached beside the main one (from `databases` or attached " +
    "here), by name, with its entry. Needs an admin key.",
  responses: [{
    status: 200,
    description: "The databases.",
    body: { kind: "json", schema: "Databases" },
  }],
  errors: [],
};

const POST_DATABASES: Endpoint = {
  method: "POST",
  route: "/admin/databases",
  path: "/admin/databases",
  operationId: "changeDatabases",
  tag: "Operations",
  summary: "Attach or detach databases while serving",
  description: '`{"attach": {name: {path, access_mode, hosts, rate_limit}}, ' +
    '"detach": [name]}`. Checked in full first; attaches run before detaches and are undone ' +
    "when one fails. While serving, DuckDB's sandbox admits `:memory:` databases and files " +
    "inside `allowed_directories` only (other files, attach strings and `options`: add them " +
    "to `databases` and restart). Needs an admin key.",
  requestBody: {
    schema: "DatabaseChange",
    description: "What to attach and detach.",
    required: true,
  },
  responses: [{
    status: 200,
    description: "Applied.",
    body: { kind: "json", schema: "Databases" },
  }],
  errors: ["invalid_json", "invalid_config", "attach_failed", "payload_too_large"],
};

/** A checked change: entries to attach, names to detach. */
interface DatabaseChange {
  attach: [string, DatabaseSpec][];
  detach: string[];
}

/** The admin routes of the attached databases (relative to the route prefix, behind the key). */
export function adminDatabaseRoutes(ctx: AppContext): Feature {
  const feature = createFeature();
  let queue: Promise<unknown> = Promise.resolve();
  feature.route(GET_DATABASES, (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    return c.json({ databases: describeDatabases(ctx.engine.databases) });
  });
  feature.route(POST_DATABASES, async (c) => {
    requireAdmin(ctx.auth, c.get("principal"));
    const body = await readJsonBody(c.req.raw, ctx.config.max_body_size);
    // One change at a time: each is checked against the databases the last one left.
    const run = queue.then(() => applyChange(ctx, body));
    queue = run.catch(() => {});
    const done = await run;
    ctx.log.info("databases_changed", { attached: done.attached, detached: done.detached });
    return c.json({ ...done, databases: describeDatabases(ctx.engine.databases) });
  });
  return feature;
}

async function applyChange(
  ctx: AppContext,
  body: unknown,
): Promise<{ attached: string[]; detached: string[] }> {
  const change = checkChange(ctx, body);
  const attached: string[] = [];
  try {
    for (const [name, spec] of change.attach) {
      await ctx.engine.attach(name, spec);
      attached.push(name);
    }
  } catch (err) {
    for (const name of attached.reverse()) await ctx.engine.detach(name).catch(() => {});
    if (err instanceof AttachError) throw new ApiError("attach_failed", err.message);
    throw err;
  }
  for (const name of change.detach) {
    await ctx.engine.detach(name).catch((err) => {
      throw err instanceof AttachError ? new ApiError("attach_failed", err.message) : err;
    });
  }
  return { attached: change.attach.map(([name]) => name), detached: change.detach };
}

/** Checks the whole body against the attached databases; 400 `invalid_config` listing problems. */
function checkChange(ctx: AppContext, body: unknown): DatabaseChange {
  const problems: string[] = [];
  const report = (line: string) => problems.push(line);
  const change: DatabaseChange = { attach: [], detach: [] };
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    report('the body must be a JSON object: {"attach": {name: entry}, "detach": [name]}');
    throw invalid(problems);
  }
  const { attach = {}, detach = [], ...rest } = body as Record<string, unknown>;
  for (const key of Object.keys(rest)) report(`unknown key "${key}": expected attach, detach`);
  const current = ctx.engine.databases;
  const known = (name: string) => [...current.keys()].find((n) => same(n, name));
  if (!Array.isArray(detach) || detach.some((n) => typeof n !== "string")) {
    report("detach: expected a list of database names");
  } else {
    for (const name of detach as string[]) {
      const found = known(name);
      if (found) change.detach.push(found);
      else report(`detach: no attached database is named ${JSON.stringify(name)}`);
    }
  }
  if (typeof attach !== "object" || attach === null || Array.isArray(attach)) {
    report("attach: expected a mapping of names to entries");
  } else {
    checkAttaches(ctx, attach as Record<string, unknown>, change, report);
  }
  if (problems.length) throw invalid(problems);
  return change;
}

function checkAttaches(
  ctx: AppContext,
  attach: Record<string, unknown>,
  change: DatabaseChange,
  report: (line: string) => void,
): void {
  const { config, engine } = ctx;
  const mainCatalog = catalogNameOf(config.database_path);
  const paths = {
    mainCatalog,
    database_path: config.database_path,
    auth_database_path: config.auth_database_path,
    open: config.temp_directory ? [config.temp_directory] : [],
  };
  const hosts = hostsOf(engine);
  for (const [name, entry] of Object.entries(attach)) {
    const problem = databaseNameProblem(name, mainCatalog);
    const taken = [...engine.databases.keys(), ...change.attach.map(([n]) => n)]
      .some((n) => same(n, name));
    if (problem) report(`invalid databases.${name}: ${problem}`);
    else if (taken) report(`invalid databases.${name}: a database of this name is attached`);
    const spec = checkDatabase(name, entry, Deno.cwd(), report);
    if (!spec || problem || taken) continue;
    // The sandbox is closed: only DuckDB's own files, which it checks against it, may be attached.
    if (attachTarget(spec.path) || Object.keys(spec.options).length > 0) {
      report(
        `invalid databases.${name}: attach strings and options are for \`databases\` at start; ` +
          "while serving, only files and :memory: can be attached",
      );
      continue;
    }
    const clash = pathProblem(spec.path, paths) ??
      ([...engine.databases].find(([, d]) => d.path === spec.path && d.path !== ":memory:")?.[0] ??
        null);
    if (clash) {
      report(`invalid databases.${name}.path: ${clash.includes(" ") ? clash : `${clash} has it`}`);
      continue;
    }
    const host = spec.hosts.find((h) => hosts.has(h));
    if (host) {
      report(`invalid databases.${name}.hosts: ${host} is a host of ${hosts.get(host)}`);
      continue;
    }
    for (const h of spec.hosts) hosts.set(h, name);
    change.attach.push([name, spec]);
  }
}

/** Every tenant host of the attached databases, to its database's name. */
function hostsOf(engine: Engine): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const [name, spec] of engine.databases) for (const h of spec.hosts) hosts.set(h, name);
  return hosts;
}

function same(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

function invalid(problems: string[]): ApiError {
  return new ApiError("invalid_config", problems.join("; "), { extra: { problems } });
}
