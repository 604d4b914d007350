/**
 * The operations keys of the configuration: the access log and its rolling, SQL text in logs,
 * the metrics listener, rate limits, load shedding and the client-address rule behind proxies,
 * with their cross-key rules. `lib/config_keys.ts` splices {@link OPS_KEYS} into the one key
 * table and `lib/config.ts` calls {@link finishOpsConfig}. (It imports nothing of `config.ts`:
 * its rows have the shape of `ConfigKey`.)
 *
 * @example
 * ```ts
 * import { deepEqual, equal } from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * import { parseListenAddress } from "./config_ops.ts";
 * const config = await loadConfig({ env: { DUCKDB_ANONYMOUS_RATE_LIMIT: "10/s" } });
 * equal(config.anonymous_rate_limit, "10/s");
 * equal(config.access_log, "stderr");
 * deepEqual(parseListenAddress("127.0.0.1:9464"), { hostname: "127.0.0.1", port: 9464 });
 * ```
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { parseCidr } from "./cidr.ts";
import { type KeyRow, keyRow } from "./config_kinds.ts";

/** Where access log lines go: a stream of the process, nowhere, or a file path. */
export type AccessLogTarget = "stderr" | "stdout" | "off" | string;

/** The operations part of the configuration (`Config` extends it). */
export interface OpsConfig {
  access_log: AccessLogTarget;
  access_log_roll_size: number;
  access_log_roll_keep: number;
  log_sql: "false" | "redacted" | "full";
  metrics: boolean;
  metrics_listen: string | null;
  anonymous_rate_limit: string | null;
  anonymous_rate_burst: number;
  max_concurrent_queries: number;
  max_queued_queries: number;
  client_ip_header: "off" | "x-forwarded-for" | "forwarded";
  trusted_proxies: string[];
}

/** One operations key: the shape of `ConfigKey` for the keys of {@link OpsConfig}. */
export type OpsKey = KeyRow<keyof OpsConfig & string, OpsConfig[keyof OpsConfig]>;

const row = keyRow<OpsConfig>;

/** The operations keys, in README order (at the end of the table). */
export const OPS_KEYS: readonly OpsKey[] = [
  row(
    "access_log",
    "string",
    "stderr",
    "Where the access log (one JSON line per request, Caddy's shape) goes: `stderr`, " +
      "`stdout`, `off`, or a file path (relative paths are resolved against the working " +
      "directory), rolled at `access_log_roll_size`.",
  ),
  row(
    "access_log_roll_size",
    "size",
    100 * 1024 * 1024,
    "Size at which an access log file is rolled (renamed with a timestamp and a new one " +
      "started).",
  ),
  row(
    "access_log_roll_keep",
    "int",
    10,
    "Rolled access log files to keep; older ones are deleted (`0`: keep none).",
    { min: 0 },
  ),
  row(
    "log_sql",
    "enum",
    "redacted",
    "SQL text in the access log: `false` (none), `redacted` (literals replaced by `?`) or " +
      "`full`.",
    { values: ["false", "redacted", "full"] },
  ),
  row(
    "metrics",
    "bool",
    true,
    "Collect Prometheus metrics and serve them at `{route_prefix}/metrics` (admin key) and " +
      "`metrics_listen`; `false`: no metrics (the endpoint answers 404).",
    { restart: true },
  ),
  row(
    "metrics_listen",
    "string",
    null,
    "Also serve Prometheus metrics without a key at `http://ADDRESS/metrics` " +
      "(`127.0.0.1:9464`; `:9464` for every interface). Unset: only `{route_prefix}/metrics` " +
      "with an admin key.",
    { nullable: true },
  ),
  row(
    "anonymous_rate_limit",
    "rate",
    null,
    "Token-bucket rate per client address for requests without a key (`20/s`, `600/m`); " +
      "unset: no limit. Keyed requests follow their role's `rate_limit`.",
    { nullable: true },
  ),
  row(
    "anonymous_rate_burst",
    "int",
    0,
    "Bucket size of `anonymous_rate_limit` (requests at once); `0`: one second's worth.",
    { min: 0 },
  ),
  row(
    "max_concurrent_queries",
    "int",
    0,
    "Most requests running on the database at once (SQL, tables, schema); more wait in a " +
      "queue. `0`: `threads` × 4.",
    { min: 0 },
  ),
  row(
    "max_queued_queries",
    "int",
    100,
    "Requests that may wait for a `max_concurrent_queries` slot; beyond that they get 503 " +
      "`overloaded` at once.",
    { min: 0 },
  ),
  row(
    "client_ip_header",
    "enum",
    "off",
    "Take the client address from `X-Forwarded-For` or `Forwarded` (rate limits, the auth " +
      "failure limit, the access log), only on requests from `trusted_proxies`.",
    { values: ["off", "x-forwarded-for", "forwarded"] },
  ),
  row(
    "trusted_proxies",
    "list",
    [],
    "Addresses and CIDR ranges of the proxies whose `client_ip_header` is believed " +
      "(`10.0.0.0/8`, `::1`).",
  ),
];

/** The address `metrics_listen` names: `host:port`, `[v6]:port` or `:port`; null when malformed. */
export function parseListenAddress(text: string): { hostname: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s\[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** Resolves the access log path and checks the operations keys' rules; `report` gets each problem. */
export function finishOpsConfig(
  config: OpsConfig,
  cwd: string,
  report: (line: string) => void,
): void {
  if (!["stderr", "stdout", "off"].includes(config.access_log)) {
    config.access_log = isAbsolute(config.access_log)
      ? config.access_log
      : resolve(cwd, config.access_log);
  }
  if (config.metrics_listen !== null && !config.metrics) {
    report("invalid metrics_listen: it serves the metrics, which metrics = false turns off");
  }
  if (config.metrics_listen !== null && !parseListenAddress(config.metrics_listen)) {
    report(
      `invalid metrics_listen = ${JSON.stringify(config.metrics_listen)}: expected ` +
        "host:port such as 127.0.0.1:9464",
    );
  }
  for (const range of config.trusted_proxies) {
    if (!parseCidr(range)) {
      report(
        `invalid trusted_proxies item ${JSON.stringify(range)}: expected an IP address or a ` +
          "CIDR range such as 10.0.0.0/8",
      );
    }
  }
  if (config.client_ip_header !== "off" && config.trusted_proxies.length === 0) {
    report(
      `invalid client_ip_header = "${config.client_ip_header}": it needs trusted_proxies ` +
        "(the header is believed only from them)",
    );
  }
}
