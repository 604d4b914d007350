/**
 * The plain-HTTP listener of `http_port`: every request gets 308 to the same path and query on
 * HTTPS, except ACME HTTP-01 challenges (`/.well-known/acme-challenge/{token}`), which are
 * answered from the challenge table while an order is pending.
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { createRedirectHandler } from "./redirect.ts";
 * const challenges = new Map([["tok", "tok.thumbprint"]]);
 * const handler = createRedirectHandler(challenges, () => 8443);
 * const moved = await handler(new Request("http://example.com/duckdb/tables?x=1"));
 * equal(moved.status, 308);
 * equal(moved.headers.get("location"), "https://example.com:8443/duckdb/tables?x=1");
 * const answer = await handler(new Request("http://example.com/.well-known/acme-challenge/tok"));
 * equal(await answer.text(), "tok.thumbprint");
 * ```
 * @module
 */

import { ApiError, renderProblem } from "../errors.ts";

/** Pending HTTP-01 challenges: token to key authorization. */
export type ChallengeTable = Map<string, string>;

const CHALLENGE = "/.well-known/acme-challenge/";
const HOST = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d+)?$/;

/** The redirect handler; `httpsPort()` is the HTTPS listener's port (443 is left out). */
export function createRedirectHandler(
  challenges: ChallengeTable,
  httpsPort: () => number,
): (request: Request) => Response {
  return (request) => {
    const url = new URL(request.url);
    if (url.pathname.startsWith(CHALLENGE)) {
      const answer = challenges.get(url.pathname.slice(CHALLENGE.length));
      if (answer === undefined) {
        return renderProblem(new ApiError("route_not_found", "No such ACME challenge."), id());
      }
      return new Response(answer, { headers: { "content-type": "text/plain" } });
    }
    const host = HOST.exec(request.headers.get("host") ?? url.host);
    if (!host) {
      return renderProblem(new ApiError("invalid_request", "The Host header is missing."), id());
    }
    const port = httpsPort();
    const target = `https://${host[1]}${
      port === 443 ? "" : `:${port}`
    }${url.pathname}${url.search}`;
    return new Response(null, { status: 308, headers: { location: target } });
  };
}

function id(): string {
  return crypto.randomUUID();
}
