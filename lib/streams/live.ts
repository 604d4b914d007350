/**
 * Live reads: the SSE event loop. Catch-up data is sent as data+control pairs (each pair in one
 * write), then the loop waits on the stream's waiter list, sending keep-alive control events on
 * each wait timeout and ending the response when the stream closes or the reconnect interval
 * passes.
 * @module
 */

import { isSseTextType } from "./content_type.ts";
import { computeCursor } from "./cursor.ts";
import { concatBytes } from "../bytes.ts";
import { joinJsonArray } from "./json_mode.ts";
import type { StreamInstance } from "./model.ts";
import { formatOffset } from "./offsets.ts";
import type { ReadPlan } from "./read_layout.ts";
import { type ControlEvent, encodeBase64, encodeControlEvent, encodeSseEvent } from "./sse.ts";
import type { StreamStore } from "./store.ts";

/** Timing and sizing of an SSE connection. */
export interface SseOptions {
  reconnectIntervalMs: number;
  keepAliveMs: number;
  maxReadBytes: number;
  random: () => number;
  /** Called once when the connection ends (live reader counts). */
  onEnd?: () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One SSE connection: what it reads and how it writes. */
interface SseConnection {
  store: StreamStore;
  inst: StreamInstance;
  options: SseOptions;
  /** Aborted when the client goes away or the body is cancelled. */
  signal: AbortSignal;
  /** Text streams send their messages as text; others in base64. */
  textMode: boolean;
  cursor: () => string;
  send: (text: string) => void;
}

/**
 * Builds the body of an SSE response reading `inst` from `startPos`. The stream ends when the
 * client disconnects, the stream is closed and fully delivered, deleted, or after the reconnect
 * interval.
 */
export function createSseBody(
  store: StreamStore,
  inst: StreamInstance,
  startPos: number,
  clientCursor: string | null,
  options: SseOptions,
  signal: AbortSignal,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const abort = new AbortController();
  const onClientAbort = () => abort.abort();
  signal.addEventListener("abort", onClientAbort, { once: true });
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      const connection: SseConnection = {
        store,
        inst,
        options,
        signal: abort.signal,
        textMode: isSseTextType(inst.contentType),
        cursor: () => computeCursor(store.now(), clientCursor, options.random),
        send: (text) => controller.enqueue(encoder.encode(text)),
      };
      runSse(connection, startPos)
        .catch(() => {})
        .finally(() => {
          options.onEnd?.();
          signal.removeEventListener("abort", onClientAbort);
          try {
            controller.close();
          } catch {
            // already closed or cancelled
          }
        });
    },
    cancel() {
      abort.abort();
    },
  });
}

/** The event loop: data while there is some, then waits with keep-alives until the end. */
async function runSse(c: SseConnection, startPos: number): Promise<void> {
  const { store, inst, options } = c;
  const deadline = store.now() + options.reconnectIntervalMs;
  let pos = startPos;
  let announcedUpToDate = false;
  while (!c.signal.aborted && !store.liveEnded && inst.state === "live") {
    const plan = store.planRead(inst, pos, options.maxReadBytes, c.textMode ? "message" : "byte");
    if (plan.segments.length > 0) {
      const parts = await store.fetchPlan(plan, inst.json);
      if (c.signal.aborted) break;
      pos = plan.next;
      announcedUpToDate = plan.upToDate;
      sendData(c, parts, plan);
      if (plan.closedAtEnd) break;
      continue;
    }
    if (inst.closed) {
      c.send(encodeControlEvent({
        streamNextOffset: formatOffset(pos),
        upToDate: true,
        streamClosed: true,
      }));
      break;
    }
    if (!announcedUpToDate) {
      sendUpToDate(c, pos);
      announcedUpToDate = true;
    }
    const remaining = deadline - store.now();
    if (remaining <= 0) break;
    const woke = await store.waitForChange(
      inst,
      Math.min(options.keepAliveMs, remaining),
      c.signal,
    );
    if (woke === "aborted") break;
    if (woke === "timeout" && store.now() < deadline) sendUpToDate(c, pos);
  }
}

/** One data event and its control event, in one write. */
function sendData(c: SseConnection, parts: Uint8Array[], plan: ReadPlan): void {
  const payload = c.inst.json
    ? decoder.decode(joinJsonArray(parts))
    : c.textMode
    ? decoder.decode(concatBytes(parts))
    : encodeBase64(concatBytes(parts));
  const control: ControlEvent = { streamNextOffset: formatOffset(plan.next) };
  if (plan.closedAtEnd) control.streamClosed = true;
  else control.streamCursor = c.cursor();
  if (plan.upToDate) control.upToDate = true;
  c.send(encodeSseEvent("data", payload) + encodeControlEvent(control));
}

/** A control event saying the reader is at the tail (also the keep-alive). */
function sendUpToDate(c: SseConnection, pos: number): void {
  c.send(encodeControlEvent({
    streamNextOffset: formatOffset(pos),
    streamCursor: c.cursor(),
    upToDate: true,
  }));
}
