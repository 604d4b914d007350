// Minimal assertions (JSR/@std is unavailable here): built on node:assert.
import nodeAssert from "node:assert/strict";

/** Asserts that `cond` is truthy. */
export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Deep strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** Asserts that `fn` throws. */
export function assertThrows(fn: () => unknown, msg?: string): void {
  nodeAssert.throws(fn, msg);
}

/** Asserts that the promise rejects. */
export async function assertRejects(fn: () => Promise<unknown>, msg?: string): Promise<void> {
  await nodeAssert.rejects(fn, msg);
}
