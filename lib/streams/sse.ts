/**
 * Server-Sent Events framing: `event: data` / `event: control` blocks with every payload line
 * prefixed by `data:` (payloads are split on CRLF, CR and LF so they cannot inject events).
 * Pure functions only.
 * @module
 */

/** The JSON body of a control event (camelCase as the protocol requires). */
export interface ControlEvent {
  streamNextOffset: string;
  streamCursor?: string;
  upToDate?: boolean;
  streamClosed?: boolean;
}

/**
 * Encodes one SSE event.
 *
 * @example
 * ```ts
 * import { encodeSseEvent } from "./sse.ts";
 * encodeSseEvent("data", "a\r\nb"); // "event: data\ndata:a\ndata:b\n\n"
 * ```
 */
export function encodeSseEvent(event: "data" | "control", payload: string): string {
  const lines = payload.split(/\r\n|\r|\n/);
  let out = `event: ${event}\n`;
  for (const line of lines) out += `data:${line}\n`;
  return out + "\n";
}

/** Encodes a control event. */
export function encodeControlEvent(control: ControlEvent): string {
  return encodeSseEvent("control", JSON.stringify(control));
}

/** Standard base64 of a byte array (chunked to avoid huge intermediate strings). */
export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  const step = 0x6000; // multiple of 3 so chunks concatenate into valid base64
  for (let i = 0; i < bytes.length; i += step) {
    const slice = bytes.subarray(i, Math.min(bytes.length, i + step));
    out += btoa(String.fromCharCode(...slice));
  }
  return out;
}
