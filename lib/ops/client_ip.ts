/**
 * The client's address: the connection's peer, or, with `client_ip_header` set and the peer in
 * `trusted_proxies`, the address the proxies recorded (`X-Forwarded-For` or RFC 7239
 * `Forwarded`), read from the right: the first address that is not itself a trusted proxy. A
 * header from any other peer is ignored, so clients cannot choose their own address.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createClientIp } from "./client_ip.ts";
 * const clientIp = createClientIp("x-forwarded-for", ["10.0.0.0/8"]);
 * const headers = new Headers({ "x-forwarded-for": "203.0.113.7, 10.0.0.2" });
 * equal(clientIp("10.0.0.1", headers), "203.0.113.7");
 * equal(clientIp("198.51.100.1", headers), "198.51.100.1"); // not a trusted proxy
 * const forwarded = createClientIp("forwarded", ["127.0.0.1"]);
 * equal(forwarded("127.0.0.1", new Headers({ forwarded: 'for="[2001:db8::1]:80"' })), "2001:db8::1");
 * ```
 * @module
 */

import { compileCidrs, parseIp } from "../cidr.ts";

/** Resolves the client address of a request from its peer address and headers. */
export type ClientIp = (peer: string, headers: Headers) => string;

/** The resolver of `header` (`off`, `x-forwarded-for`, `forwarded`) trusting `proxies`. */
export function createClientIp(header: string, proxies: readonly string[]): ClientIp {
  if (header === "off" || proxies.length === 0) return (peer) => peer;
  const trusted = compileCidrs(proxies);
  const read = header === "forwarded" ? forwardedFor : xForwardedFor;
  return (peer, headers) => {
    if (!trusted(peer)) return peer;
    const chain = read(headers);
    for (let i = chain.length - 1; i >= 0; i--) {
      if (!parseIp(chain[i])) break;
      if (!trusted(chain[i])) return chain[i];
    }
    return chain.length > 0 && parseIp(chain[0]) ? chain[0] : peer;
  };
}

function xForwardedFor(headers: Headers): string[] {
  const value = headers.get("x-forwarded-for");
  return value ? value.split(",").map((s) => s.trim()).filter((s) => s !== "") : [];
}

function forwardedFor(headers: Headers): string[] {
  const value = headers.get("forwarded");
  if (!value) return [];
  const out: string[] = [];
  for (const element of value.split(",")) {
    const m = /(?:^|;)\s*for\s*=\s*("?)([^;,"]*)\1/i.exec(element);
    if (!m) continue;
    let node = m[2].trim();
    const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
    if (bracket) node = bracket[1];
    else if (/^[\d.]+:\d+$/.test(node)) node = node.slice(0, node.lastIndexOf(":"));
    out.push(node);
  }
  return out;
}
