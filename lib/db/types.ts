/**
 * The DuckDB driver's types and type ids as the rest of duckserve sees them: the one place outside
 * `lib/db/` code imports from (the driver itself, `@duckdb/node-api`, is imported only inside
 * `lib/db/`). Plain re-exports: the classes and enums are the driver's own objects, so reading a
 * type id or a vector through this module costs nothing extra on the hot paths.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { DuckDBIntegerType, DuckDBTypeId } from "./types.ts";
 * equal(DuckDBIntegerType.instance.typeId, DuckDBTypeId.INTEGER);
 * ```
 * @module
 */

export {
  DuckDBBlobType,
  DuckDBBlobVector,
  DuckDBIntegerType,
  DuckDBTypeId,
  ResultReturnType,
  StatementType,
} from "@duckdb/node-api";

export type {
  DuckDBBlobValue,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBDecimalType,
  DuckDBEnumType,
  DuckDBExtractedStatements,
  DuckDBIntervalValue,
  DuckDBListType,
  DuckDBListValue,
  DuckDBMapType,
  DuckDBMapValue,
  DuckDBMaterializedResult,
  DuckDBPreparedStatement,
  DuckDBResult,
  DuckDBStructType,
  DuckDBStructValue,
  DuckDBTimestampValue,
  DuckDBTimeTZValue,
  DuckDBType,
  DuckDBUnionValue,
  DuckDBValue,
  DuckDBVector,
} from "@duckdb/node-api";
