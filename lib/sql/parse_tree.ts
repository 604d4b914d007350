/**
 * Reads a DuckDB parse tree (the JSON of `json_serialize_sql()`) and lists what a SELECT
 * touches: the tables and views it names (CTE names in scope are not tables), the table
 * functions it calls, every other function it calls, and catalog listings (`SHOW TABLES`).
 * Node kinds this module does not know are reported in `unknown`, so the caller can refuse to
 * vouch for them instead of guessing.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert/strict";
 * import { readTree } from "./parse_tree.ts";
 * const tree = { statements: [{ node: {
 *   type: "SELECT_NODE",
 *   cte_map: { map: [{ key: "x", value: { query: { node: {
 *     type: "SELECT_NODE", select_list: [], from_table: { type: "BASE_TABLE", table_name: "reports" },
 *   } } } }] },
 *   select_list: [],
 *   from_table: { type: "BASE_TABLE", table_name: "x" },
 * } }] };
 * const found = readTree(tree);
 * ok(found.tables.length === 1 && found.tables[0].join(".") === "reports");
 * ```
 * @module
 */

import { foldCase } from "./names.ts";

/** A function call as written: name and optional schema and catalog. */
export interface FunctionRef {
  name: string;
  schema: string;
  catalog: string;
}

/** What a parse tree references. */
export interface TreeFindings {
  /** Tables and views named, as identifier parts (`["sales", "orders"]`). */
  tables: string[][];
  /** Table functions called in FROM (`read_csv`, `range`, table macros). */
  tableFunctions: FunctionRef[];
  /** Scalar, aggregate and window functions called (operators included). */
  functions: FunctionRef[];
  /** The statement lists catalog objects (`SHOW TABLES`, `SHOW ALL TABLES`). */
  catalogListing: boolean;
  /** Node kinds this reader does not know (their meaning cannot be vouched for). */
  unknown: string[];
}

/** Query node and table reference kinds (objects with a `type` but no `class`). */
const KNOWN_NODES = new Set([
  "SELECT_NODE",
  "SET_OPERATION_NODE",
  "RECURSIVE_CTE_NODE",
  "CTE_NODE",
  "BASE_TABLE",
  "JOIN",
  "SUBQUERY",
  "TABLE_FUNCTION",
  "EXPRESSION_LIST",
  "EMPTY",
  "EMPTY_FROM",
  "PIVOT",
  "SHOW_REF",
  "ORDER_MODIFIER",
  "LIMIT_MODIFIER",
  "LIMIT_PERCENT_MODIFIER",
  "DISTINCT_MODIFIER",
  "ORDER_DEFAULT",
  "ASCENDING",
  "DESCENDING",
]);

/** Expression classes (objects with a `class`). */
const KNOWN_CLASSES = new Set([
  "STAR",
  "COLUMN_REF",
  "CONSTANT",
  "FUNCTION",
  "WINDOW",
  "SUBQUERY",
  "COMPARISON",
  "CONJUNCTION",
  "OPERATOR",
  "CAST",
  "CASE",
  "BETWEEN",
  "PARAMETER",
  "POSITIONAL_REFERENCE",
  "LAMBDA",
  "LAMBDA_REF",
  "COLLATE",
  "DEFAULT",
]);

type Json = unknown;
type Scope = readonly string[];

/** The result of `json_serialize_sql()`: the statements' trees, or an error and its type. */
export interface SerializedSql {
  error?: boolean;
  error_type?: string;
  statements?: unknown[];
}

/**
 * What the one statement of a `json_serialize_sql()` result references; null when the result
 * is an error or holds any other number of statements.
 */
export function readSingleStatement(tree: SerializedSql): TreeFindings | null {
  if (!tree || tree.error || !Array.isArray(tree.statements) || tree.statements.length !== 1) {
    return null;
  }
  return readTree(tree);
}

/** Lists what the statements of a `json_serialize_sql()` tree reference. */
export function readTree(tree: Json): TreeFindings {
  const found: TreeFindings = {
    tables: [],
    tableFunctions: [],
    functions: [],
    catalogListing: false,
    unknown: [],
  };
  const statements = (tree as { statements?: Json[] }).statements;
  if (!Array.isArray(statements)) {
    found.unknown.push("statements");
    return found;
  }
  for (const statement of statements) walk(statement, [], found);
  return found;
}

function str(value: Json): string {
  return typeof value === "string" ? value : "";
}

function functionRef(node: Record<string, Json>): FunctionRef {
  return {
    name: foldCase(str(node.function_name)),
    schema: foldCase(str(node.schema)),
    catalog: foldCase(str(node.catalog)),
  };
}

function walk(node: Json, scope: Scope, found: TreeFindings): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, scope, found);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const obj = node as Record<string, Json>;
  const cls = obj.class;
  const type = obj.type;

  if (typeof cls === "string") {
    if (!KNOWN_CLASSES.has(cls)) found.unknown.push(`class ${cls}`);
    if (cls === "FUNCTION" || cls === "WINDOW") found.functions.push(functionRef(obj));
    walkFields(obj, scope, found);
    return;
  }
  if (typeof type === "string") {
    if (!KNOWN_NODES.has(type)) found.unknown.push(type);
    if ("cte_map" in obj) {
      scope = walkCtes(obj.cte_map, scope, found);
    }
    switch (type) {
      case "BASE_TABLE": {
        const parts = [str(obj.catalog_name), str(obj.schema_name), str(obj.table_name)]
          .filter((p) => p !== "");
        const cte = parts.length === 1 && scope.includes(foldCase(parts[0]));
        if (!cte) found.tables.push(parts);
        return;
      }
      case "TABLE_FUNCTION": {
        const fn = obj.function as Record<string, Json> | undefined;
        if (fn && typeof fn === "object") {
          found.tableFunctions.push(functionRef(fn));
          walkFields(fn, scope, found);
        } else {
          found.unknown.push("TABLE_FUNCTION without function");
        }
        walkFields(obj, scope, found, ["function"]);
        return;
      }
      case "SHOW_REF":
        if (obj.query === undefined || obj.query === null) found.catalogListing = true;
        walkFields(obj, scope, found);
        return;
      case "RECURSIVE_CTE_NODE":
        walkFields(obj, [...scope, foldCase(str(obj.cte_name))], found, ["cte_map"]);
        return;
    }
    walkFields(obj, scope, found, ["cte_map"]);
    return;
  }
  walkFields(obj, scope, found);
}

function walkFields(
  obj: Record<string, Json>,
  scope: Scope,
  found: TreeFindings,
  skip: string[] = [],
): void {
  for (const [key, value] of Object.entries(obj)) {
    if (skip.includes(key) || value === null || typeof value !== "object") continue;
    walk(value, scope, found);
  }
}

/**
 * Walks the CTE definitions of a query node: each sees the CTEs defined before it (and the
 * outer ones); returns the scope for the rest of the node (all of them).
 */
function walkCtes(cteMap: Json, scope: Scope, found: TreeFindings): Scope {
  const entries = (cteMap as { map?: Json[] } | null)?.map;
  if (cteMap === null || cteMap === undefined) return scope;
  if (!Array.isArray(entries)) {
    if (typeof cteMap === "object" && Object.keys(cteMap as object).length === 0) return scope;
    found.unknown.push("cte_map");
    return scope;
  }
  let inner = scope;
  for (const entry of entries) {
    const { key, value } = entry as { key?: Json; value?: Json };
    walk(value, inner, found);
    inner = [...inner, foldCase(str(key))];
  }
  return inner;
}
