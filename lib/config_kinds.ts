/**
 * The kinds of configuration values and how one raw value of each kind parses: a string from the
 * environment or a flag, or a JSON value from the config file. `lib/config.ts` gives every key a
 * kind and turns a refusal into its one-line `ConfigError`. {@link keyRow} builds a row of the key
 * tables (`config_keys.ts`, `config_net.ts`, `config_ops.ts`).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseKindValue } from "./config_kinds.ts";
 * deepEqual(parseKindValue({ kind: "duration" }, "1.5s"), { ok: true, value: 1500 });
 * deepEqual(parseKindValue({ kind: "int", min: 1 }, "0"), { ok: false, expected: "an integer >= 1" });
 * deepEqual(parseKindValue({ kind: "list" }, "a, b,"), { ok: true, value: ["a", "b"] });
 * ```
 * @module
 */

import { parseDuration, parseRate, parseSize } from "./units.ts";

/** The kind of a configuration value. */
export type Kind =
  | "string"
  | "int"
  | "bool"
  | "duration"
  | "size"
  | "list"
  | "enum"
  | "path"
  | "memory"
  | "rate"
  | "map";

/** What a value must be: its kind and the limits that apply to it. */
export interface KindRule {
  kind: Kind;
  /** Allowed values of an `enum` key. */
  values?: readonly string[];
  /** Smallest allowed value of an `int` key. */
  min?: number;
  /** Largest allowed value of an `int` key. */
  max?: number;
  /** The key may be unset (`null`). */
  nullable?: boolean;
}

/** One configuration key (of the names `K`, values `V`): rule, default, variable, flag, text. */
export interface KeyRow<K extends string, V> extends KindRule {
  key: K;
  default: V;
  /** Environment variable (reference names where the reference had one). */
  env: string;
  /** Long command-line flag, without the leading `--`. */
  flag: string;
  description: string;
  /** A change needs a restart (a reload naming it answers 409 `restart_required`). */
  restart?: boolean;
}

/** The row of `key`: its variable is `DUCKDB_<KEY>`, its flag `--<key-with-dashes>`. */
export function keyRow<C>(
  key: keyof C & string,
  kind: Kind,
  defaultValue: C[keyof C],
  description: string,
  extra: Partial<KindRule> & { restart?: boolean } = {},
): KeyRow<keyof C & string, C[keyof C]> {
  return {
    key,
    kind,
    default: defaultValue,
    env: `DUCKDB_${key.toUpperCase()}`,
    flag: key.replaceAll("_", "-"),
    description,
    ...extra,
  };
}

/** A parsed value, or what was expected instead (`an integer >= 1`). */
export type KindResult = { ok: true; value: unknown } | { ok: false; expected: string };

/** Parses one raw value (string from env/flags, or JSON value from the file) per `rule`. */
export function parseKindValue(rule: KindRule, value: unknown): KindResult {
  if (value === null && rule.nullable) return { ok: true, value: null };
  switch (rule.kind) {
    case "string":
    case "path":
      return typeof value !== "string" || value === ""
        ? refuse("a non-empty string")
        : accept(value);
    case "int":
      return parseInteger(rule, value);
    case "bool":
      return parseBool(value);
    case "duration": {
      const ms = parseDuration(value);
      return ms === null ? refuse("a duration such as 500ms, 10s or 1m") : accept(ms);
    }
    case "size": {
      const bytes = parseSize(value);
      return bytes === null ? refuse("a size such as 512KB, 10MB or 1GB") : accept(bytes);
    }
    case "memory":
      return typeof value !== "string" || !parseSize(value)
        ? refuse("a memory size such as 512MB or 4GB")
        : accept(value);
    case "enum": {
      // YAML and TOML write `false` unquoted: an enum value `false` accepts the boolean.
      const text = typeof value === "boolean" ? String(value) : value;
      return typeof text !== "string" || !rule.values!.includes(text)
        ? refuse(`one of ${rule.values!.join(", ")}`)
        : accept(text);
    }
    case "rate":
      return typeof value !== "string" || parseRate(value) === null
        ? refuse("a rate such as 50/s, 600/m or 3600/h")
        : accept(value.replace(/\s+/g, ""));
    case "list":
      return parseList(value);
    case "map":
      return parseMap(value);
  }
}

function accept(value: unknown): KindResult {
  return { ok: true, value };
}

function refuse(expected: string): KindResult {
  return { ok: false, expected };
}

function parseInteger(rule: KindRule, value: unknown): KindResult {
  const n = typeof value === "number" ? value : /^-?\d+$/.test(String(value)) ? Number(value) : NaN;
  const range = `an integer${rule.min !== undefined ? ` >= ${rule.min}` : ""}${
    rule.max !== undefined ? ` and <= ${rule.max}` : ""
  }`;
  if (!Number.isSafeInteger(n)) return refuse(range);
  if (rule.min !== undefined && n < rule.min) return refuse(range);
  if (rule.max !== undefined && n > rule.max) return refuse(range);
  return accept(n);
}

function parseBool(value: unknown): KindResult {
  if (typeof value === "boolean") return accept(value);
  const s = String(value).toLowerCase();
  if (["true", "1", "yes", "on"].includes(s)) return accept(true);
  if (["false", "0", "no", "off"].includes(s)) return accept(false);
  return refuse("true or false");
}

function parseList(value: unknown): KindResult {
  const items = Array.isArray(value)
    ? value
    : typeof value === "string"
    ? value.split(",").map((s) => s.trim()).filter((s) => s !== "")
    : null;
  if (!items || items.some((s) => typeof s !== "string" || s === "")) {
    return refuse("a list of non-empty strings");
  }
  return accept(items);
}

/** A mapping: an object from a document, or the same object as JSON text (env and flags). */
function parseMap(value: unknown): KindResult {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      return refuse('a JSON object such as {"sales": {"path": "sales.duckdb"}}');
    }
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return refuse("a mapping of names to entries (JSON in the environment and flags)");
  }
  return accept({ ...(parsed as Record<string, unknown>) });
}
