/**
 * Request bodies: read with a size limit (413 beyond `max_body_size`, without buffering more than
 * the limit) and parsed as JSON without losing integer precision: integers beyond 2^53 become
 * `bigint`, and numbers whose text a double cannot hold exactly become {@link JsonNumber}.
 *
 * @example
 * ```ts
 * import { equal, ok } from "node:assert/strict";
 * import { JsonNumber, parseJson } from "./body.ts";
 * const v = parseJson('{"a": 9007199254740993, "b": 1.5, "c": 0.1000000000000000000001}');
 * const o = v as Record<string, unknown>;
 * equal(o.a, 9007199254740993n);
 * equal(o.b, 1.5);
 * ok(o.c instanceof JsonNumber);
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";
import { readBodyBytes } from "../bytes.ts";
import { jsonDepth, JsonNumber, type JsonValue, MAX_JSON_DEPTH } from "../json.ts";

export { JsonNumber, type JsonValue, MAX_JSON_DEPTH } from "../json.ts";

/** Reads the whole body as text, refusing more than `maxBytes` with 413. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  return decodeBody(await readBodyBytes(request, maxBytes, () => tooLarge(maxBytes)));
}

/** Reads the whole body as bytes, refusing more than `maxBytes` with 413. */
export function readBody(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  return readBodyBytes(request, maxBytes, () => tooLarge(maxBytes));
}

/** UTF-8 text of a body (400 `invalid_json` when it is not UTF-8). */
export function decodeBody(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError("invalid_json", "The request body is not valid UTF-8.");
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "payload_too_large",
    `The request body is larger than max_body_size (${maxBytes} bytes).`,
  );
}

/**
 * Parses JSON text exactly (see module doc); throws `invalid_json` with the parser's reason, and
 * `invalid_request` for arrays and objects nested more than {@link MAX_JSON_DEPTH} levels deep
 * (checked in one scan before parsing, so a deep body costs no more than a flat one).
 */
export function parseJson(text: string): JsonValue {
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw new ApiError(
      "invalid_request",
      `The JSON body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep ` +
        `(the limit is ${MAX_JSON_DEPTH}).`,
      { extra: { max_depth: MAX_JSON_DEPTH } },
    );
  }
  try {
    // Numbers of at most 15 significant digits without an exponent read back exactly as
    // doubles: only texts with longer numbers need the (slower) exact reviver.
    return hasLongNumber(text) ? JSON.parse(text, exactNumbers) : JSON.parse(text);
  } catch (err) {
    throw new ApiError(
      "invalid_json",
      `Invalid JSON in request body: ${(err as Error).message}`,
    );
  }
}

/**
 * True when the text has a run of 16+ digits (dots allowed between) or a digit followed by an
 * exponent: a number a double might not hold exactly. A plain loop: faster than a regex here.
 * (A false positive only costs speed: callers take the exact path.)
 */
export function hasLongNumber(text: string): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 48 && c <= 57) || c === 46) {
      if (++run >= 16) return true;
      continue;
    }
    if ((c === 101 || c === 69) && run > 0) {
      const n = text.charCodeAt(i + 1);
      if ((n >= 48 && n <= 57) || n === 43 || n === 45) return true;
    }
    run = 0;
  }
  return false;
}

function exactNumbers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || context?.source === undefined) return value;
  const source = context.source;
  if (/^-?\d+$/.test(source)) {
    return Number.isSafeInteger(value) ? value : BigInt(source);
  }
  // Keep the text when the double does not read back as the same decimal.
  return sameDecimal(source, value) ? value : new JsonNumber(source);
}

function sameDecimal(source: string, value: number): boolean {
  if (!Number.isFinite(value)) return false;
  return normalizeDecimal(source) === normalizeDecimal(String(value));
}

function normalizeDecimal(text: string): string {
  // canonical mantissa digits and exponent, enough to compare two spellings of a number
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return text;
  const [, sign, int, frac = "", exp = "0"] = m;
  let digits = (int + frac).replace(/^0+/, "");
  let exponent = Number(exp) - frac.length;
  const trailing = digits.length - digits.replace(/0+$/, "").length;
  digits = digits.replace(/0+$/, "");
  exponent += trailing;
  if (digits === "") return "0";
  return `${sign}${digits}e${exponent}`;
}

/** Reads and parses a JSON body with the size limit. */
export async function readJsonBody(request: Request, maxBytes: number): Promise<JsonValue> {
  return parseJsonBody(await readBodyText(request, maxBytes));
}

/** Parses the text of a JSON body (an empty body is a 400). */
export function parseJsonBody(text: string): JsonValue {
  if (text.trim() === "") throw new ApiError("invalid_json", "The request body is empty.");
  return parseJson(text);
}
