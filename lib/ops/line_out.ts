/**
 * How one log line is written: piece by piece ({@link LineOut}), either straight into a byte
 * buffer ({@link BufferOut}, what a `line_sink.ts` sink uses, so a line per request makes
 * no string of its own) or into a string ({@link StringOut}: lines longer than the buffer, and
 * tests). Fixed pieces are encoded once ({@link linePiece}), runs that repeat from line to line
 * are kept encoded, numbers are written digit by digit.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { linePiece, StringOut } from "./line_out.ts";
 * const out = new StringOut();
 * out.piece(linePiece(`{"d":`));
 * out.decimal(0.000402742000001, 9);
 * out.ascii(`,"s":`);
 * out.string('say "hi"');
 * out.ascii("}");
 * equal(out.line, '{"d":0.000402742,"s":"say \\"hi\\""}');
 * ```
 * @module
 */

const encoder = new TextEncoder();

/**
 * Where a line is written piece by piece (`LineSink.writeWith`): straight into the sink's
 * buffer, so a line per request makes no string of its own.
 */
export interface LineOut {
  /** A fixed piece of every line (see {@link linePiece}). */
  piece(piece: LinePiece): void;
  /** ASCII text written as it is (JSON punctuation, field names, finite numbers). */
  ascii(text: string): void;
  /** Any text written as it is (UTF-8). */
  text(text: string): void;
  /**
   * Text that repeats from one line to the next: its UTF-8 bytes are kept with the last few such
   * runs and copied when the same run comes again.
   */
  run(text: string): void;
  /** `text` as a JSON string (quoted and escaped as `JSON.stringify` does). */
  string(text: string): void;
  /**
   * A number of at least 0 as a JSON number rounded to `places` decimals (at most 9; trailing
   * zeros left out): written digit by digit, without a string per number.
   */
  decimal(value: number, places: number): void;
}

/** A fixed piece of text and its UTF-8 bytes. */
export interface LinePiece {
  readonly text: string;
  readonly bytes: Uint8Array;
}

/** `text` as a {@link LinePiece}: encoded once, copied into each line. */
export function linePiece(text: string): LinePiece {
  return { text, bytes: encoder.encode(text) };
}

/** Runs whose bytes a {@link BufferOut} keeps. */
const KEPT_RUNS = 8;

/** A {@link LineOut} writing into a buffer (one byte short of its end: the line break's). */
export class BufferOut implements LineOut {
  readonly #buffer: Uint8Array;
  readonly #end: number;
  /** Where the next byte goes. */
  at = 0;
  /** A piece did not fit: the line is incomplete. */
  #full = false;
  readonly #runs: string[] = [];
  readonly #runBytes: Uint8Array[] = [];
  #nextRun = 0;

  constructor(buffer: Uint8Array) {
    this.#buffer = buffer;
    this.#end = buffer.length - 1;
  }

  /** Writes the line of `fill` from `at`; false when it does not fit. */
  fill<T>(at: number, fill: (out: LineOut, arg: T) => void, arg: T): boolean {
    this.at = at;
    this.#full = false;
    fill(this, arg);
    return !this.#full;
  }

  piece(piece: LinePiece): void {
    this.#copy(piece.bytes);
  }

  ascii(text: string): void {
    const n = text.length;
    let at = this.at;
    if (at + n > this.#end) {
      this.#full = true;
      return;
    }
    const buffer = this.#buffer;
    for (let i = 0; i < n; i++) buffer[at++] = text.charCodeAt(i);
    this.at = at;
  }

  text(text: string): void {
    if (this.#full) return;
    const { read, written } = encoder.encodeInto(text, this.#buffer.subarray(this.at, this.#end));
    if (read < text.length) this.#full = true;
    else this.at += written;
  }

  run(text: string): void {
    let bytes: Uint8Array | undefined;
    const runs = this.#runs;
    for (let i = 0; i < runs.length; i++) {
      if (runs[i] === text) {
        bytes = this.#runBytes[i];
        break;
      }
    }
    if (bytes === undefined) {
      bytes = encoder.encode(text);
      this.#runs[this.#nextRun] = text;
      this.#runBytes[this.#nextRun] = bytes;
      this.#nextRun = (this.#nextRun + 1) % KEPT_RUNS;
    }
    this.#copy(bytes);
  }

  #copy(bytes: Uint8Array): void {
    const n = bytes.length;
    const at = this.at;
    if (at + n > this.#end) {
      this.#full = true;
      return;
    }
    const buffer = this.#buffer;
    if (n > SHORT_COPY) buffer.set(bytes, at);
    else for (let i = 0; i < n; i++) buffer[at + i] = bytes[i];
    this.at = at + n;
  }

  decimal(value: number, places: number): void {
    if (!decimalParts(value, places)) return this.ascii(decimalText(value, places));
    this.#digits(parts.whole, 1);
    if (parts.fraction > 0) {
      this.ascii(".");
      this.#digits(parts.fraction, parts.digits);
    }
  }

  /** The digits of the whole number `n` (at least 0), zero-padded to `width`. */
  #digits(n: number, width: number): void {
    let length = 1;
    for (let ten = 10; ten <= n; ten *= 10) length++;
    if (length < width) length = width;
    if (this.at + length > this.#end) {
      this.#full = true;
      return;
    }
    const buffer = this.#buffer;
    let at = this.at + length;
    for (let i = 0; i < length; i++) {
      const rest = Math.floor(n / 10);
      buffer[--at] = ZERO + n - rest * 10;
      n = rest;
    }
    this.at += length;
  }

  /** Printable ASCII with nothing to escape is copied in one pass; other text is escaped. */
  string(text: string): void {
    const n = text.length;
    const start = this.at;
    if (start + n + 2 > this.#end) return this.text(JSON.stringify(text));
    const buffer = this.#buffer;
    let at = start;
    buffer[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
        return this.text(JSON.stringify(text));
      }
      buffer[at++] = c;
    }
    buffer[at++] = QUOTE;
    this.at = at;
  }
}

/** Pieces up to this many bytes are copied byte by byte (cheaper than `set` for a few). */
const SHORT_COPY = 32;
/** 10 to the power of each number of decimal places. */
const SCALES = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const ZERO = 0x30;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** A {@link LineOut} building the line as a string (for lines longer than the buffer). */
export class StringOut implements LineOut {
  line = "";
  piece(piece: LinePiece): void {
    this.line += piece.text;
  }
  ascii(text: string): void {
    this.line += text;
  }
  text(text: string): void {
    this.line += text;
  }
  run(text: string): void {
    this.line += text;
  }
  string(text: string): void {
    this.line += JSON.stringify(text);
  }
  decimal(value: number, places: number): void {
    this.line += decimalText(value, places);
  }
}

/**
 * {@link LineOut.decimal}'s number split by {@link decimalParts}: the whole part, and the
 * fraction's digits without trailing zeros (`digits` of them, leading zeros included). One
 * object reused, so a number written costs no allocation.
 */
const parts = { whole: 0, fraction: 0, digits: 0 };

/**
 * Splits `value` rounded to `places` decimals into {@link parts}; false when it is not a number
 * of at least 0 below 2^53 at that scale (written by `String` instead).
 */
function decimalParts(value: number, places: number): boolean {
  const scale = SCALES[places];
  const scaled = Math.round(value * scale);
  if (!(scaled >= 0 && scaled <= Number.MAX_SAFE_INTEGER)) return false;
  parts.whole = Math.floor(scaled / scale);
  parts.fraction = scaled - parts.whole * scale;
  parts.digits = places;
  while (parts.fraction > 0 && parts.fraction % 10 === 0) {
    parts.fraction /= 10;
    parts.digits--;
  }
  return true;
}

/** {@link LineOut.decimal} as text (`null` for what JSON has no number for). */
function decimalText(value: number, places: number): string {
  if (!decimalParts(value, places)) return Number.isFinite(value) ? String(value) : "null";
  const { whole, fraction, digits } = parts;
  return fraction === 0 ? String(whole) : `${whole}.${String(fraction).padStart(digits, "0")}`;
}
