/**
 * The encoders' public face: one row per format in the registry (MIME types, extension, JS
 * encoder, when DuckDB's writer produces it), content negotiation, and {@link encodeRows} (the
 * row cap's look-ahead and the format's encoder) over the rows `lib/db/` hands on. Encoded bodies
 * come with their first bytes read (`EncodedBody`), ready for the response layer.
 * @module
 */

export { createArrowEncoder } from "./arrow.ts";
export {
  type ByteProducer,
  type EncodedBody,
  LOOKAHEAD_BYTES,
  producerOf,
  readAhead,
} from "./byte_producer.ts";
export { copyBody, type CopyFraming } from "./copy_body.ts";
export { createCsvEncoder, type CsvOptions } from "./csv.ts";
export { type EncodeOptions, encodeRows } from "./encode_rows.ts";
export {
  contentTypeFor,
  copyFormatFor,
  type EncoderOptions,
  type FormatInfo,
  formatInfo,
  type FormatName,
  FORMATS,
  negotiateFormat,
  parseFormatName,
} from "./formats.ts";
export {
  createJsonEncoder,
  createNdjsonEncoder,
  JSON_ENVELOPE_HEAD,
  jsonEnvelopeTail,
  truncationMessage,
  truncationMeta,
} from "./json.ts";
export { asSubquery, type CopyFormat, type CopyPlan, planCopy } from "./sql_render.ts";
export type { StreamEncoder } from "./stream_encoder.ts";
export { type BigNumberMode, csvText, jsonFragment, type JsonValueOptions } from "./value_text.ts";
