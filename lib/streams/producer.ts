/**
 * Idempotent producers (Kafka-style Producer-Id / Producer-Epoch / Producer-Seq): the pure decision
 * of what to do with one request given the producer's current state.
 * @module
 */

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
