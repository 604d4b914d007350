/**
 * IP addresses and CIDR ranges (IPv4 and IPv6) as the configuration writes them
 * (`trusted_proxies`: `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8`), and membership tests for
 * the addresses the listener reports (IPv4-mapped IPv6 `::ffff:10.0.0.1` counts as IPv4).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { compileCidrs, parseCidr } from "./cidr.ts";
 * const trusted = compileCidrs(["10.0.0.0/8", "::1"]);
 * equal(trusted("10.1.2.3"), true);
 * equal(trusted("::ffff:10.9.9.9"), true);
 * equal(trusted("11.0.0.1"), false);
 * equal(trusted("::1"), true);
 * equal(parseCidr("10.0.0.0/33"), null);
 * ```
 * @module
 */

/** A parsed range: the address bits as a bigint, the family's width and the prefix length. */
export interface Cidr {
  bits: bigint;
  width: 32 | 128;
  prefix: number;
}

/** The bits of an IPv4 or IPv6 address, or null when `text` is not one. */
export function parseIp(text: string): { bits: bigint; width: 32 | 128 } | null {
  const address = text.trim().replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return parseIpv4(mapped[1]);
  if (address.includes(":")) return parseIpv6(address);
  return parseIpv4(address);
}

function parseIpv4(text: string): { bits: bigint; width: 32 } | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let bits = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    bits = (bits << 8n) | BigInt(Number(part));
  }
  return { bits, width: 32 };
}

function parseIpv6(text: string): { bits: bigint; width: 128 } | null {
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // An embedded IPv4 tail (`::ffff:1.2.3.4`, `64:ff9b::1.2.3.4`) is two groups.
  const last = tail.length > 0 ? tail : head;
  if (last.length > 0 && last[last.length - 1].includes(".")) {
    const v4 = parseIpv4(last.pop()!);
    if (!v4) return null;
    last.push((v4.bits >> 16n).toString(16), (v4.bits & 0xffffn).toString(16));
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  let bits = 0n;
  for (const group of [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail]) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    bits = (bits << 16n) | BigInt(parseInt(group, 16));
  }
  return { bits, width: 128 };
}

/** `10.0.0.0/8`, `fd00::/8` or a single address (a full-length prefix); null when malformed. */
export function parseCidr(text: string): Cidr | null {
  const [address, length, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const ip = parseIp(address);
  if (!ip) return null;
  if (length === undefined) return { ...ip, prefix: ip.width };
  if (!/^\d{1,3}$/.test(length) || Number(length) > ip.width) return null;
  return { ...ip, prefix: Number(length) };
}

/** A membership test for `ranges` (texts that {@link parseCidr} accepts; others are ignored). */
export function compileCidrs(ranges: readonly string[]): (address: string) => boolean {
  const parsed = ranges.map(parseCidr).filter((c): c is Cidr => c !== null);
  if (parsed.length === 0) return () => false;
  return (address) => {
    const ip = parseIp(address);
    if (!ip) return false;
    return parsed.some((range) => {
      if (range.width !== ip.width) return false;
      const shift = BigInt(range.width - range.prefix);
      return (range.bits >> shift) === (ip.bits >> shift);
    });
  };
}
