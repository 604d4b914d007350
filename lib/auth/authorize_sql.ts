/**
 * Per-table authorization of raw SQL. {@link planScript} works out, once per SQL text, what
 * each statement needs (it depends only on the text, so it is cached); {@link checkStatement}
 * decides for a role, a statement and the statement type DuckDB reports.
 *
 * - SELECT (and DESCRIBE, SHOW, SUMMARIZE, FROM-first, TABLE, VALUES, PIVOT …): DuckDB's parse
 *   tree (`json_serialize_sql`) lists the tables and views named; each needs `q` and `r`. A CTE
 *   name is not a table; a view is a table of its own (granting a view does not grant its base
 *   tables, and reading it does not need them).
 * - INSERT / UPDATE / DELETE / TRUNCATE: the written table needs `q` plus `c`, `u` or `d`
 *   (`u` too for upserts, `r` too with RETURNING); everything else the statement reads is
 *   found by parsing SELECT probes built from its clauses (see `lib/sql/write_shape.ts`) and
 *   needs `q`+`r`.
 * - EXPLAIN needs what the explained statement needs.
 * - Table functions that authorize every call themselves (`read_stream(name)`, which checks `r`
 *   on `stream:<name>` for the request's principal every time it runs) need only `q` (on some
 *   table). The server's wiring names them ({@link PlanContext}); this module knows none.
 * - Table functions other than pure generators (`range`, `unnest`, …), catalog listings, and
 *   functions that read the catalog or sequences need `q` and `r` on `*`: they can reach any
 *   table or file. So do calls that resolve to user-defined macros (checked against the live
 *   catalog at decision time, since a macro may shadow a built-in name).
 * - With a tenant's default catalog ({@link PlanContext.qualify}), names are read in it:
 *   `orders` is `{db}.orders`, and needs the grant on that.
 * - Every other statement type (CREATE, DROP, ALTER, SET, USE, COPY, ATTACH, PRAGMA, CALL,
 *   MERGE …), and any statement whose parts cannot be analysed, needs every operation on `*`.
 * @module
 */

import { ALL_TABLES, type Operation, OPERATION_NAMES } from "../permissions.ts";
import {
  dissectWrite,
  explainedStatement,
  type FunctionRef,
  leadingKeyword,
  readSingleStatement,
  type SerializedSql,
  splitStatements,
  type TreeFindings,
} from "../sql/mod.ts";
import {
  can,
  displayTable,
  isUnrestricted,
  readsEverything,
  type RolePolicy,
  tableKeyOf,
} from "./policy.ts";

/** An operation needed on a table (canonical key). */
export interface Need {
  operation: Operation;
  table: string;
}

/** How the authorizer classified a statement. */
export type StatementKind = "select" | "insert" | "update" | "delete" | "explain" | "other";

/** What one statement needs, independent of any role. */
export interface StatementPlan {
  kind: StatementKind;
  /** For messages: the statement's leading keyword (`create`, `pragma`, …). */
  keyword: string;
  needs: Need[];
  /** Functions that are fine unless a user-defined function of that name exists. */
  functions: FunctionRef[];
  /** Why the statement needs `q` and `r` on `*`, or null. */
  readAll: string | null;
  /** Why the statement needs every operation on `*`, or null. */
  unrestricted: string | null;
  /**
   * DuckDB's parser rejects the text: DuckDB will answer with a syntax error before it looks at
   * the catalog, so there is nothing to authorize.
   */
  parseError: boolean;
}

/** Parses SQL text with DuckDB (`json_serialize_sql`); resolves with its JSON tree. */
export type Serializer = (sql: string) => Promise<unknown>;

/** What planning needs to know besides the SQL text (fixed for a server's lifetime). */
export interface PlanContext {
  /** The main database's catalog name (`memory`, `shop`): three-part names in it fold away. */
  mainCatalog: string;
  /**
   * Table functions that authorize every call themselves, for the request's principal (the
   * owner of the pooled connection), e.g. `read_stream`: calling them needs only `q`.
   */
  selfAuthorizing: ReadonlySet<string>;
  /**
   * How table names read when the request's default catalog is a tenant's database (see
   * `lib/query/default_catalog.ts`); absent: unqualified names are the main database's.
   */
  qualify?: (parts: readonly string[]) => string[];
}

/** Table functions that only generate values and can reach no table or file. */
const PURE_TABLE_FUNCTIONS = new Set([
  "range",
  "generate_series",
  "unnest",
  "json_each",
  "json_tree",
  "repeat",
  "repeat_row",
  "generate_subscripts",
  "regexp_split_to_table",
]);

/** Built-in scalar functions and macros that read the catalog, settings or sequences. */
const CATALOG_FUNCTIONS = new Set([
  "nextval",
  "currval",
  "getvariable",
  "current_setting",
  "current_query",
  "col_description",
  "obj_description",
  "shobj_description",
  "format_type",
  "format_pg_type",
  "get_block_size",
  "pg_get_constraintdef",
  "pg_get_viewdef",
  "pg_get_expr",
]);

const FUNCTION_SCHEMAS = new Set(["", "main", "pg_catalog"]);
const FUNCTION_CATALOGS = new Set(["", "system"]);

/**
 * Plans every statement of `sql`. Returns null when the text cannot be split into statements
 * (the caller then requires full rights).
 */
export async function planScript(
  sql: string,
  serialize: Serializer,
  context: PlanContext,
): Promise<StatementPlan[] | null> {
  const statements = splitStatements(sql);
  if (!statements || statements.length === 0) return null;
  const plans: StatementPlan[] = [];
  for (const statement of statements) {
    plans.push(await planStatement(statement.text, serialize, context));
  }
  return plans;
}

async function planStatement(
  text: string,
  serialize: Serializer,
  context: PlanContext,
  explained = false,
): Promise<StatementPlan> {
  const keyword = leadingKeyword(text) ?? "statement";
  const plan: StatementPlan = {
    kind: "other",
    keyword,
    needs: [],
    functions: [],
    readAll: null,
    unrestricted: null,
    parseError: false,
  };
  const tree = await serialize(text) as SerializedSql;
  const select = readSingleStatement(tree);
  if (select) {
    plan.kind = "select";
    addReads(plan, select, context);
    return plan;
  }
  if (tree?.error === true && tree.error_type === "parser") {
    plan.parseError = true;
    return plan;
  }
  const write = dissectWrite(text);
  if (write) {
    plan.kind = write.kind;
    const target = tableKeyOf(qualified(write.target, context), context.mainCatalog);
    const ops: Operation[] = ["q", write.kind === "insert" ? "c" : write.kind[0] as Operation];
    if (write.upsert) ops.push("u");
    if (write.returning) ops.push("r");
    for (const operation of ops) plan.needs.push({ operation, table: target });
    for (const probe of write.probes) {
      const findings = readSingleStatement(await serialize(probe) as SerializedSql);
      if (!findings) {
        plan.unrestricted = `this ${write.kind.toUpperCase()} statement cannot be analysed`;
        break;
      }
      addReads(plan, findings, context);
    }
    return plan;
  }
  const inner = explained ? null : explainedStatement(text);
  if (inner !== null) {
    const innerPlan = await planStatement(inner, serialize, context, true);
    if (innerPlan.kind === "other") {
      innerPlan.unrestricted ??= `EXPLAIN ${innerPlan.keyword.toUpperCase()} statements`;
    }
    return { ...innerPlan, kind: "explain", keyword };
  }
  return plan;
}

function addReads(plan: StatementPlan, found: TreeFindings, context: PlanContext): void {
  for (const parts of found.tables) {
    const table = tableKeyOf(qualified(parts, context), context.mainCatalog);
    plan.needs.push({ operation: "q", table }, { operation: "r", table });
  }
  for (const fn of found.tableFunctions) {
    const harmless = PURE_TABLE_FUNCTIONS.has(fn.name) || context.selfAuthorizing.has(fn.name);
    // Still checked against user-defined functions: a macro could shadow the name.
    if (harmless && plainFunction(fn)) plan.functions.push(fn);
    else plan.readAll ??= `the table function ${fnName(fn)}()`;
  }
  for (const fn of found.functions) {
    if (!plainFunction(fn)) plan.readAll ??= `the function ${fnName(fn)}()`;
    else if (CATALOG_FUNCTIONS.has(fn.name)) plan.readAll ??= `the function ${fn.name}()`;
    else plan.functions.push(fn);
  }
  if (found.catalogListing) plan.readAll ??= "listing the catalog";
  if (found.unknown.length) plan.readAll ??= `a construct this server cannot analyse`;
}

function qualified(parts: readonly string[], context: PlanContext): readonly string[] {
  return context.qualify ? context.qualify(parts) : parts;
}

function plainFunction(fn: FunctionRef): boolean {
  return FUNCTION_SCHEMAS.has(fn.schema) && FUNCTION_CATALOGS.has(fn.catalog);
}

function fnName(fn: FunctionRef): string {
  return [fn.catalog, fn.schema, fn.name].filter((p) => p !== "").join(".");
}

/** A refusal: the operation and table to name in the 403. */
export interface Denial {
  operation: Operation;
  table: string;
  message: string;
}

/** DuckDB's statement type name of each statement kind but `other`. */
const TYPE_NAMES: Record<Exclude<StatementKind, "other">, string> = {
  select: "SELECT",
  insert: "INSERT",
  update: "UPDATE",
  delete: "DELETE",
  explain: "EXPLAIN",
};

const KINDS = new Map(
  Object.entries(TYPE_NAMES).map(([kind, name]) => [name, kind as StatementKind]),
);

/** The statement kind DuckDB's statement type name (`SELECT`, `INSERT`, …) corresponds to. */
export function kindOfType(typeName: string): StatementKind {
  return KINDS.get(typeName) ?? "other";
}

/** The statement type name a plan stands for (its leading keyword for `other`). */
export function typeNameOf(plan: StatementPlan): string {
  return plan.kind === "other" ? plan.keyword.toUpperCase() : TYPE_NAMES[plan.kind];
}

/** The 403 of an operation missing on a table (`what` "table") or a stream. */
export function permissionDenial(
  operation: Operation,
  what: "table" | "stream",
  name: string,
  table = name,
): Denial {
  return {
    operation,
    table,
    message: `Forbidden: insufficient permissions for ${
      OPERATION_NAMES[operation].toUpperCase()
    } operation on ${what} '${name}'`,
  };
}

/**
 * Decides whether `policy` may run a statement planned as `plan` that DuckDB prepared as
 * `typeName`; `userFunctions` holds the (lowercase) names of user-defined functions, or null
 * when the plan calls no function that needs the check. Returns null when allowed.
 */
export function checkStatement(
  policy: RolePolicy,
  plan: StatementPlan | undefined,
  typeName: string,
  userFunctions: ReadonlySet<string> | null,
): Denial | null {
  if (isUnrestricted(policy)) return null;
  const reads = readsEverything(policy);
  if (!plan || plan.kind !== kindOfType(typeName)) {
    if (typeName === "SELECT") {
      return reads ? null : readAllDenial("this statement reads tables that cannot be listed");
    }
    return unrestrictedDenial(`${typeName} statements`);
  }
  if (plan.kind === "select" && reads) return null;
  for (const need of plan.needs) {
    if (!can(policy, need.operation, need.table)) {
      return permissionDenial(need.operation, "table", displayTable(need.table));
    }
  }
  if (plan.unrestricted) return unrestrictedDenial(plan.unrestricted);
  if (plan.kind === "other") return unrestrictedDenial(`${plan.keyword.toUpperCase()} statements`);
  if (!reads) {
    if (plan.readAll) return readAllDenial(plan.readAll);
    const shadow = userFunctions && plan.functions.find((fn) => userFunctions.has(fn.name));
    if (shadow) return readAllDenial(`the user-defined function ${shadow.name}()`);
  }
  return null;
}

function readAllDenial(what: string): Denial {
  return {
    operation: "q",
    table: ALL_TABLES,
    message:
      `Forbidden: ${what} can reach any table, which needs the QUERY and READ operations on table '*'`,
  };
}

function unrestrictedDenial(what: string): Denial {
  return {
    operation: "q",
    table: ALL_TABLES,
    message: `Forbidden: ${what} need every operation (crudq) on table '*'`,
  };
}

/** True when checking `plan` needs the set of user-defined function names. */
export function needsUserFunctions(policy: RolePolicy, plan: StatementPlan): boolean {
  return plan.functions.length > 0 && !readsEverything(policy) && !isUnrestricted(policy);
}
