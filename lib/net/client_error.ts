/**
 * Answers for requests the HTTP/1.1 parser refuses before any handler sees them: a request line
 * longer than the header limit gets 414 `uri_too_long`, oversized headers 431
 * `headers_too_large`, anything else malformed 400 `invalid_request`, each as problem+json like
 * every other error. Timeouts and resets just close the connection.
 * @module
 */

import type { Socket } from "node:net";
import { ApiError, type ErrorCode, problemBody } from "../errors.ts";

const STATUS_LINE: Record<number, string> = {
  400: "Bad Request",
  414: "URI Too Long",
  431: "Request Header Fields Too Large",
};

/** Which error code a parser failure maps to (`null`: close without an answer). */
export function classifyClientError(
  err: Error & { code?: string; rawPacket?: Uint8Array },
): ErrorCode | null {
  const code = err.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW") {
    // The parser reports the last packet only. URLs up to the limit are checked exactly by the
    // listener (the parser's limit is higher); beyond it, a packet that is one long run without
    // line breaks or header separators is the request line.
    const raw = err.rawPacket ? new TextDecoder().decode(err.rawPacket) : "";
    const line = raw.indexOf("\r\n");
    if (/^[A-Z]+ /.test(raw)) {
      const lineBytes = line < 0 ? raw.length : line;
      return lineBytes >= raw.length - lineBytes ? "uri_too_long" : "headers_too_large";
    }
    return line < 0 && !raw.includes(": ") ? "uri_too_long" : "headers_too_large";
  }
  if (code.startsWith("HPE_")) return "invalid_request";
  return null;
}

/** Writes the problem+json answer of a parser failure (if any) and closes the socket. */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  const code = classifyClientError(err);
  if (code === null || !socket.writable) {
    socket.destroy();
    return;
  }
  const detail = code === "uri_too_long"
    ? URI_TOO_LONG
    : code === "headers_too_large"
    ? "The request headers are larger than 64 KiB."
    : `The HTTP request is malformed (${err.code}).`;
  socket.end(rawProblem(new ApiError(code, detail)));
}

/** The detail of a 414. */
export const URI_TOO_LONG =
  "The request URL is longer than 64 KiB; send the SQL in a POST /query body instead.";

/** A whole HTTP/1.1 problem+json answer that closes the connection, as text. */
export function rawProblem(error: ApiError): string {
  const requestId = crypto.randomUUID();
  const body = JSON.stringify(problemBody(error, requestId));
  const bytes = new TextEncoder().encode(body).byteLength;
  return `HTTP/1.1 ${error.status} ${STATUS_LINE[error.status]}\r\n` +
    "content-type: application/problem+json\r\n" +
    "x-content-type-options: nosniff\r\n" +
    `x-request-id: ${requestId}\r\n` +
    `content-length: ${bytes}\r\n` +
    "connection: close\r\n\r\n" + body;
}
