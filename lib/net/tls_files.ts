/**
 * Certificates from PEM files: {@link readTlsPair} checks a certificate and key at start-up (each
 * refusal names the key and the reason) and {@link watchTlsPair} polls the files, swapping in a
 * replacement that parses and matches its key, and refusing any other with one log line while the
 * old certificate keeps serving.
 * @module
 */

import { createPrivateKey, X509Certificate } from "node:crypto";
import type { Logger } from "../log.ts";
import type { TlsPair } from "./listener.ts";

/** Where the HTTPS listener's certificate comes from, and how it tells about a new one. */
export interface CertificateSource {
  readonly pair: TlsPair;
  /** Calls `apply` with every later certificate (a changed file, a renewal). */
  watch(apply: (pair: TlsPair) => void): void;
  stop(): void;
}

/** A certificate that cannot be used; the message names the config key and the reason. */
export class TlsError extends Error {
  override name = "TlsError";
}

/** What {@link checkTlsPair} learned about a usable pair. */
export interface TlsInfo {
  subject: string;
  /** Subject alternative names as X509Certificate prints them. */
  names: string;
  notAfter: Date;
  expired: boolean;
}

/** Paths of a certificate and its key, with the config keys that named them. */
export interface TlsFiles {
  cert: string;
  key: string;
  /** Config keys for messages (default `tls_cert`, `tls_key`). */
  certKey?: string;
  keyKey?: string;
}

/** Reads and checks the files; throws {@link TlsError} naming the key and the reason. */
export async function readTlsPair(files: TlsFiles): Promise<{ pair: TlsPair; info: TlsInfo }> {
  const cert = await readPem(files.cert, files.certKey ?? "tls_cert");
  const key = await readPem(files.key, files.keyKey ?? "tls_key");
  const pair = { cert, key };
  return { pair, info: checkTlsPair(pair, files) };
}

async function readPem(path: string, configKey: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "the file does not exist"
      : err instanceof Deno.errors.PermissionDenied
      ? "permission denied (the server cannot read it)"
      : err instanceof Deno.errors.IsADirectory
      ? "it is a directory"
      : (err as Error).message;
    throw new TlsError(`invalid ${configKey} = ${JSON.stringify(path)}: ${reason}`);
  }
}

/** Parses a PEM pair: the certificate, the key, and that they belong together. */
export function checkTlsPair(pair: TlsPair, files?: TlsFiles): TlsInfo {
  const certKey = files?.certKey ?? "tls_cert";
  const keyKey = files?.keyKey ?? "tls_key";
  const where = (k: string, path?: string) => path ? `${k} = ${JSON.stringify(path)}` : k;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(pair.cert);
  } catch {
    throw new TlsError(
      `invalid ${where(certKey, files?.cert)}: not a PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  }
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch {
    throw new TlsError(
      `invalid ${where(keyKey, files?.key)}: not a PEM private key (-----BEGIN PRIVATE KEY-----)`,
    );
  }
  if (!x509.checkPrivateKey(key)) {
    throw new TlsError(
      `invalid ${where(keyKey, files?.key)}: the key does not match the certificate in ${certKey}`,
    );
  }
  const notAfter = new Date(x509.validTo);
  return {
    subject: x509.subject,
    names: x509.subjectAltName ?? "",
    notAfter,
    expired: notAfter.getTime() < Date.now(),
  };
}

/** A running file watch. */
export interface TlsWatch {
  stop(): void;
}

/** How often the files are checked (ms): a replacement serves within this plus a read. */
export const TLS_POLL_MS = 1_000;

/**
 * Polls `files` every {@link TLS_POLL_MS}; when either changes and the pair is good, calls
 * `apply` with it (new connections get it); a bad pair is logged once and ignored.
 */
export function watchTlsPair(
  files: TlsFiles,
  log: Logger,
  apply: (pair: TlsPair, info: TlsInfo) => void,
  pollMs = TLS_POLL_MS,
): TlsWatch {
  let last = "";
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stamp = async () => {
    const parts = await Promise.all([files.cert, files.key].map(async (path) => {
      const s = await Deno.stat(path).catch(() => null);
      return s ? `${s.mtime?.getTime()}:${s.size}:${s.ino}` : "missing";
    }));
    return parts.join("|");
  };
  const poll = async () => {
    const now = await stamp();
    if (now !== last) {
      last = now;
      try {
        const { pair, info } = await readTlsPair(files);
        apply(pair, info);
        log.info("tls_certificate_reloaded", {
          subject: info.subject,
          not_after: info.notAfter.toISOString(),
        });
        if (info.expired) log.warn("tls_certificate_expired", { subject: info.subject });
      } catch (err) {
        log.warn("tls_certificate_refused", {
          reason: (err as Error).message,
          note: "the previous certificate keeps serving",
        });
      }
    }
    if (!stopped) timer = setTimeout(poll, pollMs);
  };
  stamp().then((s) => {
    last = s;
    if (!stopped) timer = setTimeout(poll, pollMs);
  });
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
