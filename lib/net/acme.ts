/**
 * Automatic HTTPS (RFC 8555) with `acme-client`: an account key and the certificate of
 * `tls_domains` and of every tenant host (the `hosts` of `databases` entries) kept in
 * `certs_dir`, HTTP-01 challenges answered by the `http_port` listener from a shared table, and
 * renewal in the background once two thirds of a certificate's lifetime
 * have passed. A failed order is retried with back-off; the certificate already serving stays.
 * @module
 */

import { join } from "node:path";
import acme from "acme-client";
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { TlsPair } from "./listener.ts";
import type { ChallengeTable } from "./redirect.ts";
import { type CertificateSource, checkTlsPair, type TlsInfo } from "./tls_files.ts";
import { TlsError } from "./tls_files.ts";

/** Deadline of one request to the ACME server (ms). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Orders tried at start-up before the server gives up. */
const START_ATTEMPTS = 3;
/** First retry delay of a failed renewal (ms); doubles up to {@link MAX_BACKOFF_MS}. */
const MIN_BACKOFF_MS = 2_000;
const MAX_BACKOFF_MS = 3_600_000;
/** Longest single timer (setTimeout's limit is ~24.8 days); later renewals re-check. */
const MAX_TIMER_MS = 24 * 3_600_000;

/** A certificate on disk or fresh from the CA. */
interface Issued {
  pair: TlsPair;
  info: TlsInfo;
  notBefore: Date;
}

/**
 * The names the automatic certificate covers: `tls_domains`, then every tenant host of
 * `databases` (the first of `tls_domains` names the stored files).
 */
export function acmeDomains(config: Config): string[] {
  const hosts = Object.values(config.databases).flatMap((d) => d.hosts);
  return [...new Set([...config.tls_domains, ...hosts])];
}

/**
 * Loads the stored certificate of {@link acmeDomains} when it is valid and covers them, else
 * orders one (the `http_port` listener must already answer `challenges`); then renews it in the
 * background. Throws {@link TlsError} when no certificate can be had at start-up.
 */
export async function openAcme(
  config: Config,
  log: Logger,
  challenges: ChallengeTable,
): Promise<CertificateSource> {
  const store = certificateStore(config);
  await Deno.mkdir(config.certs_dir, { recursive: true, mode: 0o700 });
  const client = await createClient(config, store.accountKey);
  const order = () => orderCertificate(client, config, challenges, log);

  let current = await store.load(acmeDomains(config));
  if (current) log.info("acme_certificate_loaded", describe(current));
  for (let attempt = 1; !current; attempt++) {
    try {
      current = await order();
      await store.save(current.pair);
    } catch (err) {
      log.warn("acme_order_failed", { attempt, error: reasonOf(err) });
      if (attempt >= START_ATTEMPTS) {
        throw new TlsError(
          `tls_auto: no certificate for ${acmeDomains(config).join(", ")} from acme_directory ` +
            `${config.acme_directory}: ${reasonOf(err)}`,
        );
      }
      await sleep(MIN_BACKOFF_MS * attempt);
    }
  }

  let apply: ((pair: TlsPair) => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const schedule = (issued: Issued, failures = 0) => {
    if (stopped) return;
    const due = renewalTime(issued) - Date.now();
    const backoff = failures ? Math.min(MIN_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS) : 0;
    const delay = Math.min(Math.max(due, backoff, 0), MAX_TIMER_MS);
    timer = setTimeout(async () => {
      if (renewalTime(issued) > Date.now()) return schedule(issued);
      try {
        const next = await order();
        await store.save(next.pair);
        current = next;
        apply?.(next.pair);
        log.info("acme_certificate_renewed", describe(next));
        schedule(next);
      } catch (err) {
        log.warn("acme_renewal_failed", { failures: failures + 1, error: reasonOf(err) });
        schedule(issued, failures + 1);
      }
    }, delay);
  };
  schedule(current);
  return {
    pair: current.pair,
    watch(fn) {
      apply = fn;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** When two thirds of the certificate's lifetime have passed (ms since the epoch). */
function renewalTime(issued: Issued): number {
  const start = issued.notBefore.getTime();
  return start + (issued.info.notAfter.getTime() - start) * 2 / 3;
}

async function createClient(config: Config, accountKey: () => Promise<string>) {
  if (config.acme_ca_root) {
    const ca = await Deno.readTextFile(config.acme_ca_root).catch((err) => {
      throw new TlsError(
        `invalid acme_ca_root = ${JSON.stringify(config.acme_ca_root)}: ${(err as Error).message}`,
      );
    });
    acme.axios.defaults.fetchOptions = { client: Deno.createHttpClient({ caCerts: [ca] }) };
  }
  // Deno's fetch rather than node:https, whose connection errors can get lost (a CA that is down
  // would hang an order for good); every request has a deadline.
  acme.axios.defaults.adapter = "fetch";
  acme.axios.defaults.timeout = REQUEST_TIMEOUT_MS;
  // acme-client retries a failed request 5 times, 5 s apart and growing (75 s); a failed order
  // is retried by the renewal schedule instead.
  const settings = (acme.axios.defaults as unknown as {
    acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number };
  }).acmeSettings;
  settings.retryMaxAttempts = 2;
  settings.retryDefaultDelay = 1;
  return new acme.Client({
    directoryUrl: config.acme_directory,
    accountKey: await accountKey(),
    // Retries inside one order stay short; failed orders are retried by the renewal schedule.
    backoffAttempts: 3,
    backoffMin: 300,
    backoffMax: 2_000,
  });
}

async function orderCertificate(
  client: acme.Client,
  config: Config,
  challenges: ChallengeTable,
  log: Logger,
): Promise<Issued> {
  const domains = acmeDomains(config);
  const [key, csr] = await acme.crypto.createCsr({
    commonName: domains[0],
    altNames: domains,
  }, await acme.crypto.createPrivateEcdsaKey());
  log.info("acme_order", { domains, directory: config.acme_directory });
  const cert = await client.auto({
    csr,
    email: config.acme_email ?? undefined,
    termsOfServiceAgreed: true,
    challengePriority: ["http-01"],
    // The CA validates the challenge itself; a self-check from behind NAT proves nothing.
    skipChallengeVerification: true,
    challengeCreateFn: (_authz, challenge, keyAuthorization) => {
      challenges.set(challenge.token, keyAuthorization);
      return Promise.resolve();
    },
    challengeRemoveFn: (_authz, challenge) => {
      challenges.delete(challenge.token);
      return Promise.resolve();
    },
  });
  return issuedOf({ cert, key: key.toString() });
}

function issuedOf(pair: TlsPair): Issued {
  const info = checkTlsPair(pair, undefined);
  const notBefore = new Date(acme.crypto.readCertificateInfo(pair.cert).notBefore);
  return { pair, info, notBefore };
}

/** The files of `certs_dir`: the account key and the certificate of the domain list. */
function certificateStore(config: Config) {
  const dir = config.certs_dir;
  const name = config.tls_domains[0].replace(/[^A-Za-z0-9.-]/g, "_");
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const write = (path: string, text: string) =>
    Deno.writeTextFile(`${path}.tmp`, text, { mode: 0o600 }).then(() =>
      Deno.rename(`${path}.tmp`, path)
    );
  return {
    async accountKey(): Promise<string> {
      const path = join(dir, "account.key");
      const existing = await Deno.readTextFile(path).catch(() => null);
      if (existing) return existing;
      const created = (await acme.crypto.createPrivateEcdsaKey()).toString();
      await write(path, created);
      return created;
    },
    async load(domains: string[]): Promise<Issued | null> {
      try {
        const pair = {
          cert: await Deno.readTextFile(certPath),
          key: await Deno.readTextFile(keyPath),
        };
        const issued = issuedOf(pair);
        const names = acme.crypto.readCertificateInfo(pair.cert).domains;
        const covered = new Set([names.commonName, ...names.altNames]);
        if (issued.info.expired || !domains.every((d) => covered.has(d))) return null;
        return issued;
      } catch {
        return null;
      }
    },
    async save(pair: TlsPair): Promise<void> {
      await write(keyPath, pair.key);
      await write(certPath, pair.cert);
    },
  };
}

function describe(issued: Issued): Record<string, unknown> {
  return {
    names: issued.info.names,
    not_before: issued.notBefore.toISOString(),
    not_after: issued.info.notAfter.toISOString(),
    renew_at: new Date(renewalTime(issued)).toISOString(),
  };
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
