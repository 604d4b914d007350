/**
 * Idempotent producers (Kafka-style Producer-Id / Producer-Epoch / Producer-Seq): the pure decision
 * of what to do with one request given the producer's current state, and the fencing of an append
 * that carries producer headers: accepted, answered as a duplicate without writing, or refused
 * with the protocol's error (a stale epoch is fenced off by a newer one).
 * @module
 */

import { ApiError } from "../errors.ts";
import { H } from "./http_headers.ts";

/** Per (stream, producer id) state: the current epoch and the highest accepted seq in it. */
export interface ProducerState {
  epoch: number;
  lastSeq: number;
}

/** A producer tuple from request headers. */
export interface ProducerTuple {
  id: string;
  epoch: number;
  seq: number;
}

/** What to do with a producer request. */
export type ProducerDecision =
  | { kind: "accept"; next: ProducerState }
  | { kind: "duplicate"; state: ProducerState }
  | { kind: "stale_epoch"; currentEpoch: number }
  | { kind: "epoch_seq_not_zero" }
  | { kind: "gap"; expected: number; received: number };

/**
 * Decides a producer request.
 *
 * @example
 * ```ts
 * import { decideProducer } from "./producer.ts";
 * decideProducer(undefined, { epoch: 0, seq: 0 }).kind; // "accept"
 * decideProducer({ epoch: 0, lastSeq: 3 }, { epoch: 0, seq: 2 }).kind; // "duplicate"
 * ```
 */
export function decideProducer(
  state: ProducerState | undefined,
  req: { epoch: number; seq: number },
): ProducerDecision {
  if (state === undefined) {
    return req.seq === 0
      ? { kind: "accept", next: { epoch: req.epoch, lastSeq: 0 } }
      : { kind: "gap", expected: 0, received: req.seq };
  }
  if (req.epoch < state.epoch) return { kind: "stale_epoch", currentEpoch: state.epoch };
  if (req.epoch > state.epoch) {
    return req.seq === 0
      ? { kind: "accept", next: { epoch: req.epoch, lastSeq: 0 } }
      : { kind: "epoch_seq_not_zero" };
  }
  if (req.seq <= state.lastSeq) return { kind: "duplicate", state };
  if (req.seq === state.lastSeq + 1) {
    return { kind: "accept", next: { epoch: state.epoch, lastSeq: req.seq } };
  }
  return { kind: "gap", expected: state.lastSeq + 1, received: req.seq };
}

/** The producer state of one stream, as fencing reads it. */
export interface ProducerFenceState {
  /** State per producer id. */
  producers: Map<string, ProducerState>;
  /** The stream is closed (or an accepted append closes it). */
  pendingClosed: boolean;
  /** The producer tuple that closed the stream, if one did. */
  closedBy: ProducerTuple | null;
}

/** What an append with producer headers gets. */
export type Fence =
  /** Write it; the producer's state becomes `epoch`/`seq`. */
  | { kind: "accept"; epoch: number; seq: number }
  /** Answer 204 without writing: `epoch`/`seq` is what the server holds. */
  | { kind: "duplicate"; epoch: number; seq: number }
  /** The stream is closed: refuse it as any append to a closed stream. */
  | { kind: "closed" };

/**
 * Fences an append from producer `p` on a stream in `state`. Throws `producer_stale_epoch`,
 * `producer_epoch_seq` or `producer_seq_gap` (with the protocol's headers).
 *
 * @example
 * ```ts
 * import { deepEqual } from "node:assert/strict";
 * import { fenceProducer } from "./producer.ts";
 * const state = { producers: new Map([["p", { epoch: 1, lastSeq: 4 }]]), pendingClosed: false, closedBy: null };
 * deepEqual(fenceProducer(state, { id: "p", epoch: 1, seq: 5 }), { kind: "accept", epoch: 1, seq: 5 });
 * deepEqual(fenceProducer(state, { id: "p", epoch: 1, seq: 3 }), { kind: "duplicate", epoch: 1, seq: 4 });
 * ```
 */
export function fenceProducer(state: ProducerFenceState, p: ProducerTuple): Fence {
  const decision = decideProducer(state.producers.get(p.id), p);
  if (state.pendingClosed) {
    // A retried close is answered; a fenced epoch stays fenced; anything else finds it closed.
    const by = state.closedBy;
    if (by && by.id === p.id && by.epoch === p.epoch && by.seq === p.seq) {
      return { kind: "duplicate", epoch: by.epoch, seq: by.seq };
    }
    if (decision.kind === "stale_epoch") throw staleEpoch(decision.currentEpoch);
    if (decision.kind === "duplicate") return duplicate(decision.state);
    return { kind: "closed" };
  }
  switch (decision.kind) {
    case "stale_epoch":
      throw staleEpoch(decision.currentEpoch);
    case "epoch_seq_not_zero":
      throw new ApiError("producer_epoch_seq", "A new producer epoch must start at Producer-Seq 0");
    case "gap":
      throw new ApiError("producer_seq_gap", "Producer sequence gap", {
        headers: {
          [H.producerExpectedSeq]: String(decision.expected),
          [H.producerReceivedSeq]: String(decision.received),
        },
      });
    case "duplicate":
      return duplicate(decision.state);
    case "accept":
      return { kind: "accept", epoch: decision.next.epoch, seq: decision.next.lastSeq };
  }
}

function duplicate(state: ProducerState): Fence {
  return { kind: "duplicate", epoch: state.epoch, seq: state.lastSeq };
}

function staleEpoch(currentEpoch: number): ApiError {
  return new ApiError("producer_stale_epoch", "Stale producer epoch", {
    headers: { [H.producerEpoch]: String(currentEpoch) },
  });
}
