/**
 * Live reads: the SSE event loop. Catch-up data is sent as data+control pairs (each pair in one
 * write), then the loop waits on the stream's waiter list, sending keep-alive control events on
 * each wait timeout and ending the response when the stream closes or the reconnect interval
 * passes.
 * @module
 */

import { isSseTextType } from "./content_type.ts";
import { computeCursor } from "./cursor.ts";
import type { StreamEngine } from "./engine.ts";
import { concatBytes } from "../bytes.ts";
import { joinJsonArray } from "./json_mode.ts";
import type { StreamInstance } from "./model.ts";
import { formatOffset } from "./offsets.ts";
import { type ControlEvent, encodeBase64, encodeControlEvent, encodeSseEvent } from "./sse.ts";

/** Timing and sizing of an SSE connection. */
export interface SseOptions {
  reconnectIntervalMs: number;
  keepAliveMs: number;
  maxReadBytes: number;
  random: () => number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Builds the body of an SSE response reading `inst` from `startPos`. The stream ends when the
 * client disconnects, the stream is closed and fully delivered, deleted, or after the reconnect
 * interval.
 */
export function createSseBody(
  engine: StreamEngine,
  inst: StreamInstance,
  startPos: number,
  clientCursor: string | null,
  options: SseOptions,
  signal: AbortSignal,
): ReadableStream<Uint8Array<ArrayBuffer>> {
  const abort = new AbortController();
  const onClientAbort = () => abort.abort();
  signal.addEventListener("abort", onClientAbort, { once: true });
  const textMode = isSseTextType(inst.contentType);
  const cursor = () => computeCursor(engine.now(), clientCursor, options.random);

  const run = async (controller: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>) => {
    const deadline = engine.now() + options.reconnectIntervalMs;
    let pos = startPos;
    let announcedUpToDate = false;
    const send = (text: string) => controller.enqueue(encoder.encode(text));
    while (!abort.signal.aborted && !engine.liveEnded && inst.state === "live") {
      const plan = engine.planRead(inst, pos, options.maxReadBytes, textMode ? "message" : "byte");
      if (plan.segments.length > 0) {
        const parts = await engine.fetchPlan(plan, inst.json);
        if (abort.signal.aborted) break;
        const payload = inst.json
          ? decoder.decode(joinJsonArray(parts))
          : textMode
          ? decoder.decode(concatBytes(parts))
          : encodeBase64(concatBytes(parts));
        pos = plan.next;
        const control: ControlEvent = { streamNextOffset: formatOffset(pos) };
        if (plan.closedAtEnd) control.streamClosed = true;
        else control.streamCursor = cursor();
        if (plan.upToDate) control.upToDate = true;
        announcedUpToDate = plan.upToDate;
        send(encodeSseEvent("data", payload) + encodeControlEvent(control));
        if (plan.closedAtEnd) break;
        continue;
      }
      if (inst.closed) {
        send(encodeControlEvent({
          streamNextOffset: formatOffset(pos),
          upToDate: true,
          streamClosed: true,
        }));
        break;
      }
      if (!announcedUpToDate) {
        send(encodeControlEvent({
          streamNextOffset: formatOffset(pos),
          streamCursor: cursor(),
          upToDate: true,
        }));
        announcedUpToDate = true;
      }
      const remaining = deadline - engine.now();
      if (remaining <= 0) break;
      const woke = await engine.waitForChange(
        inst,
        Math.min(options.keepAliveMs, remaining),
        abort.signal,
      );
      if (woke === "aborted") break;
      if (woke === "timeout" && engine.now() < deadline) {
        send(encodeControlEvent({
          streamNextOffset: formatOffset(pos),
          streamCursor: cursor(),
          upToDate: true,
        }));
      }
    }
  };

  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    start(controller) {
      run(controller)
        .catch(() => {})
        .finally(() => {
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
