/**
 * The schemas of the operations endpoints: configuration documents and reloads
 * (`/admin/config`), attached databases (`/admin/databases`) and running queries (`/queries`).
 * @module
 */

/** The operations endpoints' `components/schemas` entries. */
export function adminSchemas(): Record<string, unknown> {
  return { ...configSchemas(), ...runningQuerySchemas() };
}

function configSchemas(): Record<string, unknown> {
  return {
    ConfigDocument: {
      type: "object",
      description: "A whole configuration document: `key: value` pairs of the configuration " +
        "table (durations and sizes as text, as in a config file).",
      additionalProperties: true,
    },
    ConfigReload: {
      type: "object",
      required: ["status", "changed", "config"],
      properties: {
        status: { type: "string", const: "ok" },
        changed: {
          type: "array",
          items: { type: "string" },
          description: "The keys whose values changed.",
        },
        config: { $ref: "#/components/schemas/ConfigDocument" },
      },
    },
    Databases: {
      type: "object",
      required: ["databases"],
      properties: {
        attached: { type: "array", items: { type: "string" } },
        detached: { type: "array", items: { type: "string" } },
        databases: {
          type: "object",
          description: "The attached databases by name: `{path, access_mode, options, hosts, " +
            "rate_limit}`.",
          additionalProperties: { type: "object" },
        },
      },
    },
    DatabaseChange: {
      type: "object",
      properties: {
        attach: {
          type: "object",
          description: "Databases to attach, by name, as entries of the `databases` key.",
          additionalProperties: { type: "object" },
        },
        detach: { type: "array", items: { type: "string" }, description: "Names to detach." },
      },
    },
  };
}

function runningQuerySchemas(): Record<string, unknown> {
  const nullable = (type: string) => ({ type: [type, "null"] });
  return {
    RunningQuery: {
      type: "object",
      required: ["request_id", "route", "started_at", "elapsed", "progress", "canceled"],
      properties: {
        request_id: { type: "string" },
        key_id: nullable("string"),
        role: nullable("string"),
        route: { type: "string" },
        kind: { type: "string", enum: ["raw", "crud", "export"] },
        started_at: { type: "string", format: "date-time" },
        elapsed: { type: "number", description: "Seconds since the start." },
        sql: { ...nullable("string"), description: "As `log_sql` shows it." },
        rows: { ...nullable("integer"), description: "Rows sent so far, when known." },
        progress: { ...nullable("number"), description: "DuckDB's progress, 0..1." },
        canceled: { type: "boolean" },
      },
    },
    RunningQueries: {
      type: "object",
      required: ["queries"],
      properties: {
        queries: { type: "array", items: { $ref: "#/components/schemas/RunningQuery" } },
      },
    },
    QueryCancel: {
      type: "object",
      required: ["status", "request_id", "canceled"],
      properties: {
        status: { type: "string", const: "canceling" },
        request_id: { type: "string" },
        canceled: { type: "integer", description: "Running queries with this id interrupted." },
      },
    },
  };
}
