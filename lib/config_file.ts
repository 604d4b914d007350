/**
 * Configuration documents: a file of `key: value` pairs in JSON, YAML or TOML (chosen by the
 * extension: `.json`, `.yaml`/`.yml`, `.toml`; anything else is read as JSON), parsed with
 * maintained parsers (`yaml`, `smol-toml`). `lib/config.ts` checks the keys and values.
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { parseConfigDocument } from "./config_file.ts";
 * deepEqual(parseConfigDocument("port = 9000\nlog_sql = false\n", "duckserve.toml"), {
 *   port: 9000,
 *   log_sql: false,
 * });
 * deepEqual(parseConfigDocument("threads: 2\n", "duckserve.yaml"), { threads: 2 });
 * ```
 * @module
 */

import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";

/** The format of a configuration file, by its extension. */
export type ConfigFormat = "json" | "yaml" | "toml";

/** The format `path` is read as. */
export function configFormatOf(path: string): ConfigFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith(".yaml") || lower.endsWith(".yml")) return "yaml";
  if (lower.endsWith(".toml")) return "toml";
  return "json";
}

const FORMAT_NAMES: Record<ConfigFormat, string> = { json: "JSON", yaml: "YAML", toml: "TOML" };

/** A document that cannot be read as configuration; the message is one line. */
export class ConfigDocumentError extends Error {
  override name = "ConfigDocumentError";
}

/**
 * Parses `text` (the contents of `path`, in the format its extension names) into its
 * `key: value` pairs; throws {@link ConfigDocumentError} when it does not parse or is not a
 * mapping.
 */
export function parseConfigDocument(text: string, path: string): Record<string, unknown> {
  const format = configFormatOf(path);
  let parsed: unknown;
  try {
    parsed = format === "yaml"
      ? parseYaml(text)
      : format === "toml"
      ? parseToml(text)
      : JSON.parse(text);
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0];
    throw new ConfigDocumentError(
      `config file ${path} is not valid ${FORMAT_NAMES[format]}: ${reason}`,
    );
  }
  // An empty YAML file is an empty configuration.
  if (parsed === null && format === "yaml") return {};
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigDocumentError(
      `config file ${path} must hold a ${FORMAT_NAMES[format]} mapping of key: value`,
    );
  }
  return { ...(parsed as Record<string, unknown>) };
}

/** Reads and parses the configuration file at `path` (see {@link parseConfigDocument}). */
export async function readConfigDocument(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigDocumentError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  return parseConfigDocument(text, path);
}
