/**
 * `node:assert/strict` as Node has it, for every test and doc example. In Deno 2.9 the named
 * exports of `node:assert/strict` are the legacy, loose functions (`deepEqual([1], ["1"])`,
 * `equal(42, 42n)` and `deepEqual(Object.create(null), {})` all pass), while its default export is
 * strict. `deno.json` maps `node:assert/strict` to this module, so `import { deepEqual } from
 * "node:assert/strict"` compares as its name promises; `tests/house_test.ts` checks that it does.
 * @module
 */

import assert from "node:assert";

const strict = assert.strict;

/** Asserts that `value` is truthy. */
export const ok: typeof strict.ok = strict.ok;
/** Strict equality (`Object.is`). */
export const equal: typeof strict.strictEqual = strict.strictEqual;
/** Strict inequality. */
export const notEqual: typeof strict.notStrictEqual = strict.notStrictEqual;
/** Strict deep equality: types, prototypes and values. */
export const deepEqual: typeof strict.deepStrictEqual = strict.deepStrictEqual;
/** Strict deep inequality. */
export const notDeepEqual: typeof strict.notDeepStrictEqual = strict.notDeepStrictEqual;
/** Strict equality, by its long name. */
export const strictEqual: typeof strict.strictEqual = strict.strictEqual;
/** Strict inequality, by its long name. */
export const notStrictEqual: typeof strict.notStrictEqual = strict.notStrictEqual;
/** Strict deep equality, by its long name. */
export const deepStrictEqual: typeof strict.deepStrictEqual = strict.deepStrictEqual;
/** Strict deep inequality, by its long name. */
export const notDeepStrictEqual: typeof strict.notDeepStrictEqual = strict.notDeepStrictEqual;
/** Asserts that a string matches a regular expression. */
export const match: typeof strict.match = strict.match;
/** Asserts that a string does not match a regular expression. */
export const doesNotMatch: typeof strict.doesNotMatch = strict.doesNotMatch;
/** Asserts that a function throws (optionally, a matching error). */
export const throws: typeof strict.throws = strict.throws;
/** Asserts that a function does not throw. */
export const doesNotThrow: typeof strict.doesNotThrow = strict.doesNotThrow;
/** Asserts that a promise (or an async function's) rejects (optionally, with a matching error). */
export const rejects: typeof strict.rejects = strict.rejects;
/** Asserts that a promise (or an async function's) does not reject. */
export const doesNotReject: typeof strict.doesNotReject = strict.doesNotReject;
/** Fails with `message`. */
export const fail: typeof strict.fail = strict.fail;
/** The error every assertion throws. */
export const AssertionError: typeof strict.AssertionError = strict.AssertionError;
/** The strict assert function itself, with all of the above as members. */
export default strict;
