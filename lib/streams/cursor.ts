/**
 * Stream-Cursor computation for CDN request collapsing: the number of 20-second intervals since
 * 2024-10-09T00:00:00Z, bumped with random jitter when a client echoes a cursor that is not older
 * than the current interval, so a returned cursor is always strictly greater than the echoed one.
 * @module
 */

const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);
const INTERVAL_MS = 20_000;
const MAX_JITTER_S = 3600;

/**
 * Computes the cursor to return.
 *
 * @param nowMs current wall-clock time in ms
 * @param clientCursor the `cursor` query parameter, if any
 * @param random a `[0, 1)` random source (injectable for tests)
 *
 * @example
 * ```ts
 * import { computeCursor } from "./cursor.ts";
 * const c = computeCursor(Date.now(), null, Math.random);
 * computeCursor(Date.now(), c, Math.random) > c; // numerically greater
 * ```
 */
export function computeCursor(
  nowMs: number,
  clientCursor: string | null,
  random: () => number,
): string {
  const current = Math.floor((nowMs - CURSOR_EPOCH_MS) / INTERVAL_MS);
  if (clientCursor !== null && /^\d{1,15}$/.test(clientCursor)) {
    const echoed = Number(clientCursor);
    if (echoed >= current) {
      const jitterS = 1 + Math.floor(random() * MAX_JITTER_S);
      return String(echoed + Math.max(1, Math.ceil((jitterS * 1000) / INTERVAL_MS)));
    }
  }
  return String(current);
}
