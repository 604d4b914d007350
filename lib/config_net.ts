/**
 * The listener keys of the configuration (timeouts, connection cap, TLS from files or ACME,
 * the HTTP redirect port, HSTS, CORS) and their cross-key rules. `lib/config.ts` splices
 * {@link NET_KEYS} into its one key table and calls {@link finishNetConfig}; nothing else reads
 * them from anywhere but the `Config`. (It imports nothing of `config.ts`: its rows have the shape
 * of `config.ts`'s `ConfigKey`.)
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { loadConfig } from "./config.ts";
 * const config = await loadConfig({ env: { DUCKDB_CORS_ORIGINS: "https://a.example" } });
 * equal(config.cors_origins[0], "https://a.example");
 * equal(config.idle_timeout, 60_000);
 * ```
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { type KeyRow, keyRow } from "./config_kinds.ts";

/** The listener part of the configuration (`Config` in `lib/config.ts` extends it). */
export interface NetConfig {
  idle_timeout: number;
  header_timeout: number;
  max_connections: number;
  tls_cert: string | null;
  tls_key: string | null;
  http_port: number;
  hsts_max_age: number;
  tls_auto: boolean;
  tls_domains: string[];
  acme_email: string | null;
  acme_directory: string;
  acme_ca_root: string | null;
  certs_dir: string;
  cors_origins: string[];
  cors_headers: string[];
  cors_max_age: number;
}

/** What the listener rules read: the listener keys and the keys they are checked against. */
export interface NetView extends NetConfig {
  port: number;
  allowed_directories: string[];
  temp_directory: string | null;
}

/** Let's Encrypt's production directory, the default `acme_directory`. */
export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

/** One listener key: the shape of `config.ts`'s `ConfigKey` for the keys of {@link NetConfig}. */
export type NetKey = KeyRow<keyof NetConfig & string, NetConfig[keyof NetConfig]>;

const row = keyRow<NetConfig>;

/** The listener keys, in README order (after `route_prefix`). */
export const NET_KEYS: readonly NetKey[] = [
  row(
    "idle_timeout",
    "duration",
    60_000,
    "Close a connection with no request in flight after this long (keep-alive between " +
      "requests, HTTP/2 without open streams); `0` never.",
  ),
  row(
    "header_timeout",
    "duration",
    10_000,
    "Close a new connection that has not finished its TLS handshake and sent its first request " +
      "headers within this long; `0` never.",
  ),
  row(
    "max_connections",
    "int",
    10_000,
    "Most open client connections per listener; more are closed at once. `0`: no cap.",
    { min: 0 },
  ),
  row(
    "tls_cert",
    "path",
    null,
    "PEM certificate chain. With `tls_key`, `port` serves HTTPS only (HTTP/2 by ALPN, " +
      "HTTP/1.1 otherwise); replacing the files takes effect within 5 s without a restart.",
    { nullable: true },
  ),
  row("tls_key", "path", null, "PEM private key of `tls_cert`.", { nullable: true }),
  row(
    "http_port",
    "int",
    0,
    "Plain-HTTP port that answers every request with 308 to the same path on HTTPS (and ACME " +
      "HTTP-01 challenges); `0`: off.",
    { min: 0, max: 65535 },
  ),
  row(
    "hsts_max_age",
    "duration",
    365 * 24 * 3_600_000,
    "`Strict-Transport-Security` max-age on HTTPS answers; `0` sends none.",
  ),
  row(
    "tls_auto",
    "bool",
    false,
    "Obtain and renew certificates for `tls_domains` from `acme_directory` (ACME HTTP-01 on " +
      "`http_port`); they are kept in `certs_dir`.",
  ),
  row("tls_domains", "list", [], "Domain names of the automatic certificate."),
  row(
    "acme_email",
    "string",
    null,
    "Contact address of the ACME account (expiry notices).",
    { nullable: true },
  ),
  row("acme_directory", "string", LETS_ENCRYPT, "ACME directory URL (Let's Encrypt by default)."),
  row(
    "acme_ca_root",
    "path",
    null,
    "PEM CA certificate to trust for a private ACME server (its directory's HTTPS).",
    { nullable: true },
  ),
  row(
    "certs_dir",
    "path",
    "data/certs",
    "Directory of the ACME account key and certificates (relative paths are resolved against " +
      "the working directory). Never reachable from user SQL.",
  ),
  row(
    "cors_origins",
    "list",
    [],
    "Origins allowed to call the API from a browser (`*`: any, without credentials); others " +
      "get no CORS headers.",
  ),
  row(
    "cors_headers",
    "list",
    [],
    "Request headers allowed beyond `Content-Type`, `Accept`, `Authorization`, `X-API-Key`, " +
      "`X-Request-ID` and `Cache-Control`.",
  ),
  row("cors_max_age", "duration", 600_000, "How long browsers may cache a preflight answer."),
];

/**
 * Resolves the listener keys' paths and checks their rules; `report` gets each problem as one
 * line (every rule is checked).
 */
export function finishNetConfig(
  config: NetView,
  cwd: string,
  report: (line: string) => void,
): void {
  const fail = report;
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  config.certs_dir = absolute(config.certs_dir);
  if (config.tls_cert) config.tls_cert = absolute(config.tls_cert);
  if (config.tls_key) config.tls_key = absolute(config.tls_key);
  if (config.acme_ca_root) config.acme_ca_root = absolute(config.acme_ca_root);
  if (Boolean(config.tls_cert) !== Boolean(config.tls_key)) {
    fail(
      `invalid ${config.tls_cert ? "tls_key" : "tls_cert"} = null: tls_cert and tls_key ` +
        "must be set together",
    );
  }
  if (config.tls_auto) {
    if (config.tls_cert) {
      fail("invalid tls_auto = true: tls_cert/tls_key and tls_auto exclude each other");
    }
    if (config.tls_domains.length === 0) {
      fail("invalid tls_domains = []: tls_auto needs at least one domain");
    }
    if (!config.acme_email) fail("invalid acme_email = null: tls_auto needs a contact address");
    if (!config.http_port) {
      fail("invalid http_port = 0: tls_auto answers ACME HTTP-01 challenges on http_port");
    }
    if (!/^https?:\/\//.test(config.acme_directory)) {
      fail(`invalid acme_directory = ${JSON.stringify(config.acme_directory)}: expected a URL`);
    }
  }
  if (config.http_port && !config.tls_cert && !config.tls_auto) {
    fail(
      `invalid http_port = ${config.http_port}: it redirects to HTTPS; set tls_cert/tls_key or tls_auto`,
    );
  }
  if (config.http_port && config.http_port === config.port) {
    fail(`invalid http_port = ${config.http_port}: it is also port`);
  }
  if (config.tls_auto) checkCertsDir(config, fail);
  if (config.cors_origins.includes("*") && config.cors_origins.length > 1) {
    fail('invalid cors_origins: "*" stands alone');
  }
  for (const origin of config.cors_origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      fail(
        `invalid cors_origins item ${JSON.stringify(origin)}: expected scheme://host[:port]`,
      );
    }
  }
}

/** User SQL may use `allowed_directories` and `temp_directory`: none may hold `certs_dir`. */
function checkCertsDir(config: NetView, fail: (line: string) => void): void {
  const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);
  const certs = config.certs_dir.replace(/\/+$/, "");
  const open = config.allowed_directories.map((d) => ["allowed_directories", d]);
  if (config.temp_directory) open.push(["temp_directory", config.temp_directory]);
  for (const [key, raw] of open) {
    const dir = raw.replace(/\/+$/, "");
    if (inside(certs, dir) || inside(dir, certs)) {
      fail(
        `invalid ${key} = ${JSON.stringify(raw)}: it would let user SQL reach certificates and ` +
          `ACME keys (certs_dir ${config.certs_dir}); choose directories apart from it`,
      );
    }
  }
}

/** True when the listener on `port` serves HTTPS. */
export function servesTls(config: NetConfig): boolean {
  return Boolean(config.tls_cert) || config.tls_auto;
}
