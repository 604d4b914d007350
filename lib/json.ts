/**
 * JSON values as the server parses them: integers beyond 2^53 are `bigint`, and numbers whose
 * text a double cannot hold exactly are {@link JsonNumber}. Shared by every layer that handles
 * request values (HTTP parses them, the planners and binders use them).
 * @module
 */

/** A JSON number kept as its exact text (a double would round it). */
export class JsonNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A parsed JSON value. */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonNumber
  | JsonValue[]
  | { [key: string]: JsonValue };
