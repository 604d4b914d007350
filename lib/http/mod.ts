/**
 * The HTTP layer's face: the app (`createApp`), the start-up app, the context types, and the
 * feature helper with which every feature registers its routes and their documentation rows.
 *
 * | module          | job                                                                      |
 * | --------------- | ------------------------------------------------------------------------ |
 * | `app.ts`        | the pipeline: middleware, the one error renderer, features mounted       |
 * | `context.ts`    | `AppContext`, `AppEnv`, the request-id rule, the client's address        |
 * | `feature.ts`    | `createFeature`/`mount`: sub-apps with rows; 405s; rows back from routes |
 * | `problems.ts`   | `onError` and `notFound`: every problem+json answer, 5xx logged          |
 * | `starting.ts`   | the app that answers while the database opens                            |
 * | `cors.ts`       | CORS around the app's `fetch`: preflights before authentication          |
 * | `probes.ts`     | feature: `/health`, `/livez`, `/readyz`; the drain guard                 |
 * | `docs.ts`       | feature: `/openapi.json`, `/docs`, `/docs/{asset}`                       |
 * | `schema.ts`     | feature: `/tables`, `/tables/{table}`                                    |
 * | `raw_sql.ts`    | feature: `POST /query`, `GET /query/{sql}/result.{format}`               |
 * | `tables.ts`     | feature: `/api/{table}`                                                  |
 * | `streams.ts`    | feature: `{streams_prefix}/*`                                            |
 * | `body.ts`       | reading JSON request bodies                                              |
 * | `output.ts`     | the representation a request asks for (format, CSV/JSON options)        |
 * | `respond.ts`    | answers: status, headers, streaming the body, compression, aborts        |
 * | `compress.ts`   | `Accept-Encoding` negotiation and streaming compressors                  |
 * | `ops.ts`        | request records, rate limits, the query gate (middleware)                |
 * | `metrics.ts`    | feature: `/metrics` (Prometheus, admin key)                              |
 * | `admin.ts`      | feature: `/admin/config` (live configuration, admin key)                 |
 * @module
 */

export { createApp, documentParts } from "./app.ts";
export { createStartingApp } from "./starting.ts";
export { withCors } from "./cors.ts";
export { type AppContext, type AppEnv, type ReloadOutcome, requestIdOf } from "./context.ts";
export { metricsResponse } from "./metrics.ts";
export {
  createFeature,
  type DocumentedRoutes,
  documentRoutes,
  type Feature,
  type FeatureBuilder,
  mount,
  type RegisteredRoute,
} from "./feature.ts";
