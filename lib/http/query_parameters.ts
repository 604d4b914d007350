/**
 * Unknown query parameters are refused, never ignored: a typo (`limt`) or a parameter of another
 * API (`order`) would otherwise silently change nothing. Each endpoint accepts the query
 * parameters its OpenAPI row documents (`queryParameterNames`), so the check and the document
 * cannot disagree.
 *
 * @example
 * ```ts
 * import { throws } from "node:assert/strict";
 * import { checkQueryParameters } from "./query_parameters.ts";
 * const known = ["filter", "limit"];
 * checkQueryParameters(new URLSearchParams("limit=5&filter=a:eq:1"), known, "GET /api/{table}");
 * throws(() => checkQueryParameters(new URLSearchParams("limt=5"), known, "GET /api/{table}"));
 * ```
 * @module
 */

import { ApiError } from "../errors.ts";

/** Throws 400 `unknown_parameter` for the first parameter of `params` not in `known`. */
export function checkQueryParameters(
  params: URLSearchParams,
  known: readonly string[],
  endpoint: string,
): void {
  for (const name of params.keys()) {
    if (known.includes(name)) continue;
    const near = closest(name, known);
    throw new ApiError(
      "unknown_parameter",
      `Unknown query parameter "${name}" for ${endpoint}` +
        (near ? ` (did you mean "${near}"?)` : "") +
        (known.length ? `; it takes ${known.join(", ")}.` : "; it takes no query parameters."),
      { extra: { parameter: name, known: [...known] } },
    );
  }
}

/** The known name within two edits of `name` (case-insensitive), if there is one. */
function closest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = distance(name.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance of `a` and `b`, or `cap` once it is certainly at least `cap`. */
function distance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap || a.length > 64) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return Math.min(previous[b.length], cap);
}
