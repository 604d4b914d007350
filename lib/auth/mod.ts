/**
 * Authentication and authorization seam of the HTTP pipeline. `createAuth()` returns the
 * {@link Auth} the handlers consult: who is calling (`authenticate`), whether they may do an
 * operation on a table (`authorize`, used by the CRUD endpoints with the table name as the
 * client wrote it, before the table's existence is checked), and whether they may run a raw SQL
 * statement (`authorizeStatement`). With `auth_enabled: false` every request is allowed.
 *
 * The per-request path is one SHA-256, one map lookup and a constant-time comparison; raw SQL
 * decisions are cached per role and SQL text until the store or the catalog of functions
 * changes. The store is reloaded in the background when its file changes (see `reload.ts`).
 * @module
 */

import type { Config } from "../config.ts";
import { catalogNameOf } from "../catalog_name.ts";
import { ApiError } from "../errors.ts";
import { type Logger, SILENT } from "../log.ts";
import type { Events } from "../events.ts";
import { guarded } from "../db/run.ts";
import { isLockError } from "../db/file.ts";
import { type SqlInfo, type StatementInfo, statementTypeName } from "../query/mod.ts";
import {
  ALL_TABLES,
  type Authorizer,
  type Operation,
  OPERATION_NAMES,
  type Principal,
} from "../permissions.ts";
import {
  checkStatement,
  type Denial,
  needsUserFunctions,
  permissionDenial,
  type PlanContext,
  planScript,
  type StatementPlan,
  typeNameOf,
} from "./authorize_sql.ts";
import { constantTimeEqual, hashKey, keyStatus, presentedKey } from "./keys.ts";
import { createFirstStore } from "./first_start.ts";
import { createFailureLimiter } from "./limiter.ts";
import {
  can,
  canStream,
  isUnrestricted,
  readsEverything,
  type RolePolicy,
  streamPathOf,
  tableKey,
} from "./policy.ts";
import { fileSignature, watchFile } from "./reload.ts";
import { type AuthSnapshot, buildSnapshot } from "./snapshot.ts";
import { authFileExists, DEFAULT_LOCK_WAIT_MS, readAuthData } from "./store.ts";

export type { Operation, Principal } from "../permissions.ts";

/** The auth stage of the pipeline. */
export interface Auth extends Authorizer {
  /**
   * Identifies the caller from `X-API-Key` or `Authorization: Bearer`; throws `unauthorized`
   * (401, the same answer for a missing, unknown, inactive or expired key) or
   * `too_many_requests` (429) once `clientAddress` has failed too often.
   */
  authenticate(request: Request, clientAddress: string, requestId?: string): Principal;
  /**
   * Throws `forbidden` (403, naming the operation and table) when `principal` may not do
   * `operation` on `table` (as written by the client: `orders`, `Sales.Orders`). Call it before
   * checking that the table exists, so a 404 never tells an unauthorized caller anything.
   * `stream:<path>` names a Durable Stream: allowed by the role's grant on `*` or a matching
   * `stream:<glob>` grant (the path is never read as a table name).
   */
  authorize(principal: Principal, operation: Operation, table: string): void;
  /**
   * Throws `forbidden` (403) when `principal` may not run raw SQL text, judged from DuckDB's parse
   * of the text before anything is prepared (so the answer never depends on the catalog).
   */
  authorizeSql(principal: Principal, info: SqlInfo): Promise<void>;
  /**
   * Throws `forbidden` (403) when `principal` may not run one prepared statement of the request
   * (checked again with the statement type DuckDB reports).
   */
  authorizeStatement(principal: Principal, info: StatementInfo): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link createAuth}. */
export interface AuthOptions {
  log?: Logger;
  /**
   * Receives the one-time announcement (with the admin key) when the store is created at
   * start-up; defaults to printing on stderr. Never logged.
   */
  announce?: (text: string) => void;
  /** How often the store file is checked for changes (default 250 ms). */
  reloadIntervalMs?: number;
  /** Wall clock in epoch ms, for expiry checks (tests). */
  now?: () => number;
  /** Where `auth_failed` events go (metrics count them). */
  events?: Events;
  /**
   * Table functions that authorize every call themselves for the request's principal (the
   * server passes the streams feature's `read_stream`): raw SQL calling them needs only `q`.
   */
  selfAuthorizing?: readonly string[];
}

const ANONYMOUS: Principal = Object.freeze({ keyId: "anonymous", role: "anonymous" });

const OPEN_AUTH: Auth = {
  authenticate: () => ANONYMOUS,
  authorize: () => {},
  authorizeSql: () => Promise.resolve(),
  authorizeStatement: () => Promise.resolve(),
  close: () => Promise.resolve(),
};

/** Message of every 401 (kept from the reference module, whose clients may match on it). */
export const UNAUTHORIZED_MESSAGE = "Missing or invalid X-API-Key header";

const SERIALIZE_SQL =
  "SELECT system.main.json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true)";
const USER_FUNCTIONS_SQL = "SELECT function_name FROM system.main.duckdb_functions() " +
  "WHERE NOT internal";

/** Statement types that cannot change the catalog of functions. */
const CATALOG_NEUTRAL = new Set(["SELECT", "INSERT", "UPDATE", "DELETE", "SET", "VARIABLE_SET"]);

const MAX_PLANS = 512;
const MAX_DECISIONS = 4096;
const MAX_CACHED_SQL = 64 * 1024;

/** The auth stage for `config` (open when `auth_enabled` is false). */
export async function createAuth(config: Config, options: AuthOptions = {}): Promise<Auth> {
  if (!config.auth_enabled) return OPEN_AUTH;
  const log = options.log ?? SILENT;
  const path = config.auth_database_path;
  if (!await authFileExists(path)) {
    await createFirstStore(path, {
      log,
      announce: options.announce ?? printAnnouncement,
      keyFile: config.admin_key_file,
    });
  }
  return await KeyAuth.open(config, log, options);
}

function printAnnouncement(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text));
}

function forbidden(denial: Denial): ApiError {
  return new ApiError("forbidden", denial.message, {
    extra: { operation: OPERATION_NAMES[denial.operation], table: denial.table },
  });
}

/** One cached raw SQL decision. */
interface Decision {
  denial: Denial | null;
  /** The decision consulted the user-defined functions of this epoch (-1: it did not). */
  functionsEpoch: number;
}

class KeyAuth implements Auth {
  #snapshot: AuthSnapshot;
  #plans = new Map<string, Promise<StatementPlan[] | null>>();
  #decisions = new Map<string, Decision>();
  #userFunctions: ReadonlySet<string> | null = null;
  #functionsEpoch = 0;
  #catalogChangesInFlight = 0;
  /** Counts checks that consulted the user-defined functions. */
  #consultedFunctions = 0;
  #watcher: { stop(): Promise<void> } | null = null;
  readonly #limiter;
  readonly #now: () => number;
  readonly #events: Events | undefined;
  readonly #mainCatalog: string;
  readonly #planContext: PlanContext;

  private constructor(
    snapshot: AuthSnapshot,
    config: Config,
    readonly log: Logger,
    options: AuthOptions,
  ) {
    this.#snapshot = snapshot;
    this.#now = options.now ?? Date.now;
    this.#events = options.events;
    this.#mainCatalog = catalogNameOf(config.database_path);
    this.#planContext = {
      mainCatalog: this.#mainCatalog,
      selfAuthorizing: new Set(options.selfAuthorizing ?? []),
    };
    this.#limiter = createFailureLimiter({
      limit: config.auth_failure_limit,
      windowMs: config.auth_failure_window,
    });
  }

  static async open(config: Config, log: Logger, options: AuthOptions): Promise<KeyAuth> {
    const path = config.auth_database_path;
    const signature = await fileSignature(path);
    const data = await readAuthData(path, DEFAULT_LOCK_WAIT_MS);
    let loaded = JSON.stringify(data);
    const auth = new KeyAuth(buildSnapshot(data), config, log, options);
    auth.#logLoaded("auth_loaded");
    let lastError = "";
    auth.#watcher = watchFile(path, signature, {
      intervalMs: options.reloadIntervalMs ?? 250,
      load: async () => {
        const data = await readAuthData(path);
        lastError = "";
        const text = JSON.stringify(data);
        if (text === loaded) return;
        loaded = text;
        auth.#install(buildSnapshot(data));
        auth.#logLoaded("auth_reloaded");
      },
      onError: (err) => {
        if (isLockError(err)) return; // the CLI is writing; try again on the next tick
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastError) {
          log.warn("auth_reload_failed", { path, error: message });
          lastError = message;
        }
      },
    });
    return auth;
  }

  #install(snapshot: AuthSnapshot): void {
    this.#snapshot = snapshot;
    this.#decisions.clear();
  }

  #logLoaded(event: string): void {
    let grants = 0;
    for (const policy of this.#snapshot.roles.values()) {
      grants += policy.tables.size + policy.streams.size + (policy.everywhere.size > 0 ? 1 : 0);
    }
    this.log.info(event, {
      roles: this.#snapshot.roles.size,
      keys: this.#snapshot.keys.size,
      grants,
    });
  }

  authenticate(request: Request, clientAddress: string, requestId?: string): Principal {
    const retryAfter = this.#limiter.retryAfter(clientAddress);
    if (retryAfter !== null) {
      this.log.warn("auth_rate_limited", { request_id: requestId, client: clientAddress });
      this.#events?.emit("auth_failed", {
        request_id: requestId,
        client_ip: clientAddress,
        reason: "locked_out",
      });
      throw new ApiError(
        "too_many_requests",
        `Too many failed authentications from this address; retry in ${retryAfter} s.`,
        { headers: { "retry-after": String(retryAfter) } },
      );
    }
    const key = presentedKey(request.headers);
    let reason: string;
    if (key === null) {
      reason = "missing";
    } else {
      const hash = hashKey(key);
      const entry = this.#snapshot.keys.get(hash);
      const status = entry && constantTimeEqual(entry.hash, hash)
        ? keyStatus(entry, this.#now())
        : "unknown";
      if (status === "active") return entry!.principal;
      reason = status;
      this.#limiter.fail(clientAddress);
    }
    const fields = { request_id: requestId, client: clientAddress, reason };
    if (reason === "missing") this.log.info("auth_failed", fields);
    else this.log.warn("auth_failed", fields);
    this.#events?.emit("auth_failed", { request_id: requestId, client_ip: clientAddress, reason });
    throw new ApiError("unauthorized", UNAUTHORIZED_MESSAGE, {
      headers: { "www-authenticate": 'Bearer realm="duckserve"' },
    });
  }

  authorize(principal: Principal, operation: Operation, table: string): void {
    const policy = this.#snapshot.roles.get(principal.role);
    if (policy?.everywhere.has(operation)) return;
    const stream = streamPathOf(table);
    if (stream !== null) {
      if (policy && canStream(policy, operation, stream)) return;
      throw forbidden(permissionDenial(operation, "stream", stream, table));
    }
    let key: string | null = null;
    try {
      key = tableKey(table, this.#mainCatalog);
    } catch {
      // not a table name: only a grant on * could allow it
    }
    if (policy && key !== null && can(policy, operation, key)) return;
    throw forbidden(permissionDenial(operation, "table", table));
  }

  async authorizeSql(principal: Principal, info: SqlInfo): Promise<void> {
    const policy = this.#rawSqlPolicy(principal);
    if (!policy) return;
    const scope = info.catalog?.key ?? "";
    await this.#decide(`sql\0${principal.role}\0${scope}\0${info.sql}`, info, async (plans) => {
      for (const plan of plans ?? []) {
        // Statements DuckDB cannot parse fail before it reads the catalog; statements that are
        // neither queries nor writes are judged again once DuckDB has typed them.
        if (plan.parseError) continue;
        if (plan.kind === "other" && readsEverything(policy)) continue;
        const denial = await this.#check(policy, plan, typeNameOf(plan), info);
        if (denial) return denial;
      }
      return null;
    });
  }

  async authorizeStatement(principal: Principal, info: StatementInfo): Promise<void> {
    const typeName = statementTypeName(info.type);
    if (!CATALOG_NEUTRAL.has(typeName)) this.#noteCatalogChange(info.settled);
    const policy = this.#rawSqlPolicy(principal);
    if (!policy) return;
    if (typeName === "SELECT" && readsEverything(policy)) return;
    const key = `statement\0${principal.role}\0${info.catalog?.key ?? ""}\0${info.index}\0` +
      `${info.count}\0${typeName}\0${info.sql}`;
    await this.#decide(key, info, (plans) => {
      const usable = plans !== null && plans.length === info.count ? plans : null;
      return this.#check(policy, usable?.[info.index], typeName, info);
    });
  }

  /** The role's policy when raw SQL needs checking; null when it may run anything. */
  #rawSqlPolicy(principal: Principal): RolePolicy | null {
    const policy = this.#snapshot.roles.get(principal.role);
    if (policy && isUnrestricted(policy)) return null;
    if (!policy || !policy.anywhere.has("q")) {
      throw forbidden({
        operation: "q",
        table: ALL_TABLES,
        message: "Forbidden: insufficient permissions for raw SQL queries",
      });
    }
    return policy;
  }

  /** Runs `decide` (or reuses its cached verdict) and throws its denial. */
  async #decide(
    key: string,
    info: SqlInfo,
    decide: (plans: StatementPlan[] | null) => Promise<Denial | null>,
  ): Promise<void> {
    const cached = this.#decisions.get(key);
    if (cached && (cached.functionsEpoch < 0 || cached.functionsEpoch === this.#functionsEpoch)) {
      if (cached.denial) throw forbidden(cached.denial);
      return;
    }
    const snapshot = this.#snapshot;
    const epoch = this.#functionsEpoch;
    const consulted = this.#consultedFunctions;
    const denial = await decide(await this.#plan(info));
    const usedFunctions = this.#consultedFunctions !== consulted;
    const stable = snapshot === this.#snapshot &&
      (!usedFunctions || (epoch === this.#functionsEpoch && this.#catalogChangesInFlight === 0));
    if (stable && info.sql.length <= MAX_CACHED_SQL) {
      if (this.#decisions.size >= MAX_DECISIONS) this.#decisions.clear();
      this.#decisions.set(key, { denial, functionsEpoch: usedFunctions ? epoch : -1 });
    }
    if (denial) throw forbidden(denial);
  }

  /** Checks one planned statement, loading user-defined function names when it matters. */
  async #check(
    policy: RolePolicy,
    plan: StatementPlan | undefined,
    typeName: string,
    info: SqlInfo,
  ): Promise<Denial | null> {
    let userFunctions: ReadonlySet<string> | null = null;
    if (plan && needsUserFunctions(policy, plan)) {
      userFunctions = await this.#loadUserFunctions(info);
      this.#consultedFunctions++;
    }
    return checkStatement(policy, plan, typeName, userFunctions);
  }

  #plan(info: SqlInfo): Promise<StatementPlan[] | null> {
    const key = info.catalog ? `${info.catalog.key}\0${info.sql}` : info.sql;
    const cached = this.#plans.get(key);
    if (cached) {
      this.#plans.delete(key);
      this.#plans.set(key, cached);
      return cached;
    }
    const serialize = (text: string) =>
      guarded(info.lease, info.guard, async () => {
        const statement = await info.lease.prepare(SERIALIZE_SQL);
        statement.bindVarchar(1, text);
        const reader = await statement.runAndReadAll();
        return JSON.parse(String(reader.getRows()[0][0]));
      });
    const context = info.catalog
      ? { ...this.#planContext, qualify: info.catalog.qualify }
      : this.#planContext;
    const planned = planScript(info.sql, serialize, context);
    if (info.sql.length <= MAX_CACHED_SQL) {
      this.#plans.set(key, planned);
      planned.catch(() => this.#plans.delete(key));
      if (this.#plans.size > MAX_PLANS) this.#plans.delete(this.#plans.keys().next().value!);
    }
    return planned;
  }

  /** The names of user-defined functions (which may shadow built-ins), from the live catalog. */
  async #loadUserFunctions(info: SqlInfo): Promise<ReadonlySet<string>> {
    if (this.#userFunctions && this.#catalogChangesInFlight === 0) return this.#userFunctions;
    const epoch = this.#functionsEpoch;
    const names = await guarded(info.lease, info.guard, async () => {
      const statement = await info.lease.prepare(USER_FUNCTIONS_SQL);
      const reader = await statement.runAndReadAll();
      return new Set(reader.getRows().map((row) => String(row[0]).toLowerCase()));
    });
    if (epoch === this.#functionsEpoch && this.#catalogChangesInFlight === 0) {
      this.#userFunctions = names;
    }
    return names;
  }

  /** A statement that may create or drop functions is about to run. */
  #noteCatalogChange(settled: Promise<void>): void {
    this.#catalogChangesInFlight++;
    this.#userFunctions = null;
    this.#functionsEpoch++;
    settled.finally(() => {
      this.#catalogChangesInFlight--;
      this.#userFunctions = null;
      this.#functionsEpoch++;
    });
  }

  async close(): Promise<void> {
    await this.#watcher?.stop();
  }
}
