import { deepEqual, equal } from "node:assert/strict";
import { headerFacts } from "../../lib/ops/redact.ts";

Deno.test("header facts from raw header lists: repeated lists reuse the JSON, never a key", () => {
  const first = headerFacts(["Host", "h:1", "X-API-Key", "first-key-0123", "Accept", "text/csv"]);
  deepEqual(first, {
    host: "h:1",
    secret: "first-key-0123",
    json: '{"Host":["h:1"],"X-Api-Key":["REDACTED"],"Accept":["text/csv"]}',
  });
  // The same list with another key: the same JSON, this request's key.
  const second = headerFacts(["Host", "h:1", "X-API-Key", "other-key-4567", "Accept", "text/csv"]);
  equal(second.secret, "other-key-4567");
  equal(second.json, first.json);
  // The key repeated in a plain header of an otherwise equal list: cut out there too.
  const leaked = headerFacts(["Host", "h:1", "X-API-Key", "text/csv", "Accept", "text/csv"]);
  equal(leaked.secret, "text/csv");
  equal(leaked.json, '{"Host":["h:1"],"X-Api-Key":["REDACTED"],"Accept":["REDACTED"]}');
  // A Bearer token, a repeated header, names in any case; as Headers would read them.
  const bearer = [
    "host",
    "h:2",
    "AUTHORIZATION",
    "Bearer tok-abcdef",
    "Accept",
    "a",
    "accept",
    "b",
  ];
  const facts = headerFacts(bearer);
  equal(facts.secret, "tok-abcdef");
  equal(facts.json, '{"Host":["h:2"],"Authorization":["REDACTED"],"Accept":["a","b"]}');
  equal(headerFacts(bearer).json, facts.json);
  const headers = new Headers([["host", "h:2"], ["authorization", "Bearer tok-abcdef"]]);
  equal(headerFacts(headers).secret, "tok-abcdef");
  // A value shaped like a duckserve key is never shown.
  const shaped = `dsk_abcdefgh_${"x".repeat(43)}`;
  equal(headerFacts(["Host", "h:1", "Referer", shaped]).json.includes(shaped), false);
});
