// The stream store on its own, without HTTP: create / append / read with offsets, JSON messages,
// producer fencing (epoch and seq), Stream-Seq, closed streams, forks (offsets, sub-offsets, soft
// delete and cascading release), TTL and Expires-At with a controlled clock, live waiters and
// shutdown. Every scenario runs on the memory journal and on the dir journal in a temp directory;
// the dir journal is also reopened to check what recovery rebuilds.
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { concatBytes } from "../../lib/bytes.ts";
import { ApiError, type ErrorCode } from "../../lib/errors.ts";
import type { StreamsEvent } from "../../lib/streams/model.ts";
import { formatOffset } from "../../lib/streams/offsets.ts";
import { encodeRecord } from "../../lib/streams/record.ts";
import type { PostRequest, PutRequest } from "../../lib/streams/request.ts";
import { openStreamStore, type StreamStore } from "../../lib/streams/store.ts";
import { appendSystemJson } from "../../lib/streams/system_json.ts";

type Kind = "memory" | "dir";
const KINDS: Kind[] = ["memory", "dir"];
const MIB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const NONE = new Uint8Array(0);

/** A store with its clock and the events it emitted. */
interface Opened {
  store: StreamStore;
  clock: { ms: number };
  events: StreamsEvent[];
  /** Closes the store cleanly and opens the same storage again (dir: recovery). */
  reopen(): Promise<Opened>;
  close(): Promise<void>;
}

async function openAt(
  kind: Kind,
  dir: string,
  clock: { ms: number },
  all: Opened[],
): Promise<Opened> {
  const events: StreamsEvent[] = [];
  const store = await openStreamStore({
    storage: kind === "memory" ? { kind } : { kind, dir },
    maxOpenFiles: 4,
    now: () => clock.ms,
    onEvent: (event) => events.push(event),
  });
  let closed = false;
  const opened: Opened = {
    store,
    clock,
    events,
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
    },
    async reopen() {
      // Like a restart: every store open on the directory closes first (one holds its lock).
      for (const other of all) await other.close();
      return await openAt(kind, dir, clock, all);
    },
  };
  all.push(opened);
  return opened;
}

/** Runs `body` on a fresh store of each journal kind and cleans up after it. */
function storeTest(name: string, body: (s: Opened, kind: Kind) => Promise<void>): void {
  for (const kind of KINDS) {
    Deno.test(`${name} (${kind} journal)`, async () => {
      const dir = await Deno.makeTempDir({ prefix: "stream-store-" });
      const all: Opened[] = [];
      try {
        await body(await openAt(kind, dir, { ms: 1_700_000_000_000 }, all), kind);
      } finally {
        for (const opened of all) await opened.close();
        await Deno.remove(dir, { recursive: true });
      }
    });
  }
}

function put(fields: Partial<PutRequest> = {}): PutRequest {
  return {
    contentType: null,
    ttlSeconds: null,
    expiresAtMs: null,
    closed: false,
    fork: null,
    ...fields,
  };
}

function post(fields: Partial<PostRequest> = {}): PostRequest {
  return { contentType: null, closed: false, streamSeq: null, producer: null, ...fields };
}

const TEXT = "text/plain";
const JSON_TYPE = "application/json";
const text = (fields: Partial<PostRequest> = {}) => post({ contentType: TEXT, ...fields });

/** Asserts that `work` fails with an `ApiError` of `code` (and these headers, when given). */
async function failsWith(
  work: () => Promise<unknown> | unknown,
  code: ErrorCode,
  headers?: Record<string, string>,
): Promise<void> {
  await rejects(async () => await work(), (err: unknown) => {
    ok(err instanceof ApiError, `expected an ApiError, got ${err}`);
    equal(err.code, code);
    if (headers) deepEqual(err.headers, headers);
    return true;
  });
}

/** The committed data of `path` from `from`, as text (byte reads, no page limit). */
async function readText(store: StreamStore, path: string, from = 0): Promise<string> {
  const inst = store.requireReadable(path);
  const plan = store.planRead(inst, from, MIB, "byte");
  equal(plan.next, inst.tail);
  return (await store.fetchPlan(plan, false)).map((b) => decoder.decode(b)).join("");
}

/** The messages of JSON stream `path` from `from`, as text. */
async function readMessages(store: StreamStore, path: string, from = 0): Promise<string[]> {
  const inst = store.requireReadable(path);
  const plan = store.planRead(inst, from, MIB, "message");
  return (await store.fetchPlan(plan, true)).map((b) => decoder.decode(b));
}

storeTest("create, append and read back: offsets are byte positions", async ({ store }) => {
  const created = await store.create("a", put({ contentType: TEXT }), bytes("hello"));
  equal(created.created, true);
  equal(created.nextOffset, formatOffset(5));
  equal(created.inst.contentType, TEXT);
  const appended = await store.append("a", text(), bytes(" world"));
  deepEqual(appended, { status: 204, nextOffset: formatOffset(11), closed: false, producer: null });

  const inst = store.requireReadable("a");
  equal(inst.tail, 11);
  const plan = store.planRead(inst, 0, MIB, "byte");
  deepEqual([plan.from, plan.next, plan.upToDate, plan.closedAtEnd], [0, 11, true, false]);
  equal(await readText(store, "a"), "hello world");
  equal(await readText(store, "a", 5), " world");
  // A byte read splits an append at the page size and is not up to date.
  const page = store.planRead(inst, 0, 3, "byte");
  deepEqual([page.next, page.upToDate], [3, false]);
  equal(decoder.decode((await store.fetchPlan(page, false))[0]), "hel");
  // Reading at the tail gives nothing, beyond it is refused.
  deepEqual(store.planRead(inst, 11, MIB, "byte").segments, []);
  await failsWith(() => store.validateReadOffset(inst, 12), "bad_offset");
  deepEqual(store.paths(), ["a"]);
  // No Content-Type: octet-stream.
  equal((await store.create("b", put(), NONE)).inst.contentType, "application/octet-stream");
  deepEqual(store.paths(), ["a", "b"]);
});

storeTest(
  "JSON streams: one message per value, whole-message reads, boundaries",
  async ({ store }) => {
    await store.create("j", put({ contentType: JSON_TYPE }), bytes("[1, 2]"));
    await store.append("j", post({ contentType: JSON_TYPE }), bytes('{"a": 1}'));
    await store.append("j", post({ contentType: JSON_TYPE }), bytes("[3, [4]]"));
    deepEqual(await readMessages(store, "j"), ["1", "2", '{"a":1}', "3", "[4]"]);
    const inst = store.requireReadable("j");
    equal(inst.tail, 13);
    // Whole messages that fit the budget; at least one even when it does not fit.
    const small = store.planRead(inst, 0, 3, "message");
    equal(small.next, 2);
    equal(store.planRead(inst, 2, 1, "message").next, 9);
    // Offsets inside a message are refused.
    store.validateReadOffset(inst, 1);
    await failsWith(() => store.validateReadOffset(inst, 3), "bad_offset");
    ok(store.isBoundary(inst, 9) && store.isBoundary(inst, 10) && !store.isBoundary(inst, 11));
    // Synchronous reads (SQL scans) stop at the limit and carry the append time.
    const sync = store.readMessagesSync(inst, 0, MIB, 9);
    deepEqual(sync.map((m) => [decoder.decode(m.bytes), m.end]), [["1", 1], ["2", 2], [
      '{"a":1}',
      9,
    ]]);
    ok(sync.every((m) => typeof m.ts === "number" && m.ts > 0));
    // Bad JSON bodies.
    await failsWith(
      () => store.append("j", post({ contentType: JSON_TYPE }), bytes("[]")),
      "empty_json_array",
    );
    await failsWith(
      () => store.append("j", post({ contentType: JSON_TYPE }), bytes("{")),
      "invalid_json",
    );
    await failsWith(
      () => store.create("k", put({ contentType: JSON_TYPE }), bytes("nope")),
      "invalid_json",
    );
    equal(store.lookup("k"), undefined);
    equal(store.requireReadable("j").tail, 13);
  },
);

storeTest("appends are validated before anything is written", async ({ store }) => {
  await failsWith(() => store.append("missing", text(), bytes("x")), "stream_not_found");
  await store.create("a", put({ contentType: TEXT }), NONE);
  await failsWith(() => store.append("a", text(), NONE), "empty_body");
  await failsWith(() => store.append("a", post(), bytes("x")), "missing_content_type");
  await failsWith(
    () => store.append("a", post({ contentType: JSON_TYPE }), bytes("1")),
    "content_type_mismatch",
  );
  // Content types compare as media types (parameters and case aside).
  await store.append("a", post({ contentType: "Text/Plain; charset=utf-8" }), bytes("x"));
  // Stream-Seq must increase byte-wise.
  await store.append("a", text({ streamSeq: "b" }), bytes("1"));
  await failsWith(() => store.append("a", text({ streamSeq: "a" }), bytes("2")), "seq_conflict", {
    "stream-next-offset": formatOffset(2),
  });
  await failsWith(() => store.append("a", text({ streamSeq: "b" }), bytes("2")), "seq_conflict");
  await store.append("a", text({ streamSeq: "c" }), bytes("3"));
  equal(await readText(store, "a"), "x13");
});

storeTest("idempotent producers are fenced by epoch and sequence", async (s, kind) => {
  const { store } = s;
  const as = (epoch: number, seq: number, id = "p1") => text({ producer: { id, epoch, seq } });
  await store.create("p", put({ contentType: TEXT }), NONE);
  deepEqual(await store.append("p", as(0, 0), bytes("a")), {
    status: 200,
    nextOffset: formatOffset(1),
    closed: false,
    producer: { epoch: 0, seq: 0 },
  });
  // A retry is a duplicate: 204 with the highest accepted seq, nothing written.
  deepEqual(await store.append("p", as(0, 0), bytes("a")), {
    status: 204,
    nextOffset: formatOffset(1),
    closed: false,
    producer: { epoch: 0, seq: 0 },
  });
  await failsWith(() => store.append("p", as(0, 2), bytes("c")), "producer_seq_gap", {
    "producer-expected-seq": "1",
    "producer-received-seq": "2",
  });
  equal((await store.append("p", as(0, 1), bytes("b"))).status, 200);
  // A new epoch starts at seq 0 and fences the old one.
  await failsWith(() => store.append("p", as(1, 1), bytes("x")), "producer_epoch_seq");
  deepEqual((await store.append("p", as(1, 0), bytes("c"))).producer, { epoch: 1, seq: 0 });
  await failsWith(() => store.append("p", as(0, 2), bytes("x")), "producer_stale_epoch", {
    "producer-epoch": "1",
  });
  // Another producer starts at seq 0.
  await failsWith(() => store.append("p", as(0, 3, "p2"), bytes("x")), "producer_seq_gap", {
    "producer-expected-seq": "0",
    "producer-received-seq": "3",
  });
  equal(await readText(store, "p"), "abc");
  if (kind === "dir") {
    // The producer state is in the same records as the data: a retry after a restart is a
    // duplicate, the fenced epoch stays fenced.
    const again = await s.reopen();
    equal((await again.store.append("p", as(1, 0), bytes("c"))).status, 204);
    await failsWith(() => again.store.append("p", as(0, 2), bytes("x")), "producer_stale_epoch");
    equal(await readText(again.store, "p"), "abc");
  }
});

storeTest("closed streams take no appends; retried closes are answered", async (s, kind) => {
  const { store } = s;
  await store.create("c", put({ contentType: TEXT }), bytes("a"));
  deepEqual(await store.append("c", text({ closed: true }), bytes("b")), {
    status: 204,
    nextOffset: formatOffset(2),
    closed: true,
    producer: null,
  });
  const inst = store.requireReadable("c");
  ok(inst.closed);
  deepEqual(
    [
      store.planRead(inst, 0, MIB, "byte").closedAtEnd,
      store.planRead(inst, 0, 1, "byte").closedAtEnd,
    ],
    [true, false],
  );
  await failsWith(() => store.append("c", text(), bytes("x")), "stream_closed", {
    "stream-closed": "true",
    "stream-next-offset": formatOffset(2),
  });
  // Closing again without a body is fine.
  deepEqual(await store.append("c", text({ closed: true }), NONE), {
    status: 204,
    nextOffset: formatOffset(2),
    closed: true,
    producer: null,
  });

  // A producer's close: its retry is a duplicate, anything else from it is refused.
  await store.create("pc", put({ contentType: TEXT }), NONE);
  const p = (epoch: number, seq: number, closed = false) =>
    text({ closed, producer: { id: "p", epoch, seq } });
  equal((await store.append("pc", p(0, 0), bytes("a"))).status, 200);
  deepEqual((await store.append("pc", p(0, 1, true), bytes("b"))).producer, { epoch: 0, seq: 1 });
  deepEqual(await store.append("pc", p(0, 1, true), bytes("b")), {
    status: 204,
    nextOffset: formatOffset(2),
    closed: true,
    producer: { epoch: 0, seq: 1 },
  });
  deepEqual((await store.append("pc", p(0, 0), bytes("a"))).producer, { epoch: 0, seq: 1 });
  await failsWith(() => store.append("pc", p(0, 2), bytes("c")), "stream_closed");

  // Created closed.
  await store.create("cc", put({ contentType: TEXT, closed: true }), bytes("z"));
  await failsWith(() => store.append("cc", text(), bytes("x")), "stream_closed");
  if (kind === "dir") {
    const again = await s.reopen();
    ok(again.store.requireReadable("c").closed && again.store.requireReadable("cc").closed);
    await failsWith(() => again.store.append("pc", p(0, 2), bytes("c")), "stream_closed");
    equal(await readText(again.store, "pc"), "ab");
  }
});

storeTest("create is idempotent for the same configuration only", async ({ store }) => {
  await store.create("c", put({ contentType: TEXT, ttlSeconds: 60 }), bytes("abc"));
  await store.append("c", text(), bytes("d"));
  const same = await store.create("c", put({ contentType: TEXT, ttlSeconds: 60 }), NONE);
  deepEqual([same.created, same.nextOffset], [false, formatOffset(4)]);
  for (
    const other of [
      put({ contentType: JSON_TYPE, ttlSeconds: 60 }),
      put({ contentType: TEXT }),
      put({ contentType: TEXT, ttlSeconds: 60, closed: true }),
      put({ ttlSeconds: 60 }),
    ]
  ) {
    await failsWith(() => store.create("c", other, NONE), "stream_exists");
  }
});

storeTest("data and offsets survive a restart", async (s, kind) => {
  await s.store.create("a", put({ contentType: TEXT }), bytes("one"));
  await s.store.append("a", text(), bytes("two"));
  // The dir journal is reopened (recovery); the memory journal goes on as it is.
  const { store, events } = kind === "dir" ? await s.reopen() : s;
  equal(store.requireReadable("a").tail, 6);
  equal(await readText(store, "a"), "onetwo");
  equal((await store.append("a", text(), bytes("3"))).nextOffset, formatOffset(7));
  equal(await readText(store, "a", 3), "two3");
  const recovered = events.filter((e) => e.type === "recovery_done");
  deepEqual(
    recovered.map((e) => e.type === "recovery_done" && e.streams),
    kind === "dir" ? [1] : [],
  );
});

const fork = (from: string, offset: number | null, sub = 0, fields: Partial<PutRequest> = {}) =>
  put({ fork: { from, offset, sub }, ...fields });

storeTest(
  "forks read their source below the fork offset and their own data above",
  async ({ store }) => {
    await store.create("s", put({ contentType: TEXT, ttlSeconds: 600 }), bytes("abc"));
    await store.append("s", text(), bytes("def"));
    const f = await store.create("f", fork("s", 3), NONE);
    deepEqual([f.created, f.nextOffset, f.inst.contentType], [true, formatOffset(3), TEXT]);
    // The TTL is inherited, but not as the requested one.
    deepEqual([f.inst.ttlSeconds, f.inst.reqTtl], [600, null]);
    await store.append("f", text(), bytes("XYZ"));
    equal(await readText(store, "f"), "abcXYZ");
    equal(await readText(store, "f", 2), "cXYZ");
    equal(await readText(store, "s"), "abcdef");
    // No offset: at the source's tail.
    equal((await store.create("g", fork("s", null), NONE)).nextOffset, formatOffset(6));
    equal(await readText(store, "g"), "abcdef");
    // A sub-offset also takes the first bytes of the append at the fork offset.
    equal((await store.create("h", fork("s", 3, 2), bytes("!"))).nextOffset, formatOffset(6));
    equal(await readText(store, "h"), "abcde!");
    // The same fork again is confirmed; another offset is a conflict.
    equal((await store.create("f", fork("s", 3), NONE)).created, false);
    await failsWith(() => store.create("f", fork("s", 2), NONE), "stream_exists");
    await failsWith(() => store.create("f", fork("s", null), NONE), "stream_exists");
    // What a fork may not be.
    await failsWith(() => store.create("x", fork("s", 7), NONE), "fork_offset_invalid");
    await failsWith(() => store.create("x", fork("s", 3, 4), NONE), "fork_sub_offset_invalid");
    await failsWith(() => store.create("x", fork("s", 6, 1), NONE), "fork_sub_offset_invalid");
    await failsWith(() => store.create("x", fork("nope", 0), NONE), "fork_source_not_found");
    await failsWith(
      () => store.create("x", fork("s", 0, 0, { contentType: JSON_TYPE }), NONE),
      "content_type_mismatch",
    );
    equal(store.lookup("x"), undefined);
  },
);

storeTest("JSON forks split only at message boundaries", async ({ store }) => {
  await store.create("js", put({ contentType: JSON_TYPE }), bytes("[1, 22, 333]"));
  await store.create("jf", fork("js", 1), NONE);
  deepEqual(await readMessages(store, "jf"), ["1"]);
  await failsWith(() => store.create("x", fork("js", 2), NONE), "fork_offset_invalid");
  // A JSON sub-offset counts messages.
  await store.create("jsub", fork("js", 1, 1), NONE);
  deepEqual(await readMessages(store, "jsub"), ["1", "22"]);
  await failsWith(() => store.create("x", fork("js", 1, 3), NONE), "fork_sub_offset_invalid");
});

storeTest("a deleted source lives on for its forks and goes with the last one", async (s, kind) => {
  let { store } = s;
  await store.create("s", put({ contentType: TEXT }), bytes("ab"));
  await store.append("s", text(), bytes("c"));
  // A binary stream's messages are its appends: 2 is a boundary, 1 is not.
  await failsWith(() => store.create("f", fork("s", 1), NONE), "fork_offset_invalid");
  await store.create("f", fork("s", 2), bytes("F"));
  await store.create("g", fork("s", 3), bytes("G"));
  const source = store.requireReadable("s");
  await store.delete("s");
  equal(store.lookup("s")?.state, "soft_deleted");
  await failsWith(() => store.requireReadable("s"), "stream_gone");
  await failsWith(() => store.append("s", text(), bytes("x")), "stream_gone");
  await failsWith(() => store.delete("s"), "stream_gone");
  await failsWith(() => store.create("s", put({ contentType: TEXT }), NONE), "stream_exists");
  await failsWith(() => store.create("x", fork("s", 0), NONE), "fork_source_gone");
  deepEqual(store.paths(), ["f", "g"]);
  equal(await readText(store, "f"), "abF");
  if (kind === "dir") {
    store = (await s.reopen()).store;
    equal(store.lookup("s")?.state, "soft_deleted");
    equal(await readText(store, "g"), "abcG");
  }
  await store.delete("f");
  equal(store.lookup("s")?.state, "soft_deleted");
  await store.delete("g");
  // The last fork released the source: the path is free again, for a new instance.
  equal(store.lookup("s"), undefined);
  const again = await store.create("s", put({ contentType: TEXT }), bytes("new"));
  ok(again.created && again.inst.id !== source.id);
  equal(await readText(store, "s"), "new");
  if (kind === "dir") {
    store = (await s.reopen()).store;
    deepEqual(store.paths(), ["s"]);
    equal(await readText(store, "s"), "new");
  }
});

storeTest("deleted streams are gone and their path can be reused", async ({ store }) => {
  await failsWith(() => store.delete("d"), "stream_not_found");
  const first = await store.create("d", put({ contentType: TEXT }), bytes("1"));
  await store.delete("d");
  await failsWith(() => store.requireReadable("d"), "stream_not_found");
  await failsWith(() => store.delete("d"), "stream_not_found");
  const second = await store.create("d", put({ contentType: TEXT }), bytes("2"));
  ok(second.created && second.inst.id !== first.inst.id);
  equal(await readText(store, "d"), "2");
});

storeTest("TTL slides with use, Expires-At does not; both expire", async (s, kind) => {
  const { store, clock } = s;
  const start = clock.ms;
  await store.create("t", put({ contentType: TEXT, ttlSeconds: 10 }), bytes("x"));
  clock.ms = start + 9_999;
  store.touch(store.requireReadable("t"));
  clock.ms = start + 19_998;
  ok(store.lookup("t"));
  await store.append("t", text(), bytes("y")); // appends renew it too
  clock.ms = start + 29_997;
  ok(store.lookup("t"));
  clock.ms = start + 29_998;
  equal(store.lookup("t"), undefined);
  await failsWith(() => store.requireReadable("t"), "stream_not_found");
  ok(s.events.some((e) => e.type === "stream_expired" && e.path === "t"));

  await store.create("e", put({ contentType: TEXT, expiresAtMs: clock.ms + 1000 }), NONE);
  clock.ms += 999;
  store.touch(store.requireReadable("e"));
  deepEqual(store.paths(), ["e"]);
  clock.ms += 1;
  deepEqual(store.paths(), []);
  store.sweep();
  ok(s.events.some((e) => e.type === "stream_expired" && e.path === "e"));
  equal(store.lookup("e"), undefined);
  // An expired path can be created again.
  ok((await store.create("t", put({ contentType: TEXT }), NONE)).created);

  if (kind === "dir") {
    // A restart counts as an access: the sliding TTL starts again.
    await store.create("r", put({ contentType: TEXT, ttlSeconds: 10 }), NONE);
    clock.ms += 9_000;
    const again = await s.reopen();
    clock.ms += 9_000;
    ok(again.store.lookup("r"));
    clock.ms += 1_000;
    equal(again.store.lookup("r"), undefined);
  }
});

storeTest(
  "live waiters wake on changes, time out, abort, and end with endLive",
  async ({ store }) => {
    await store.create("w", put({ contentType: TEXT }), NONE);
    const inst = store.requireReadable("w");
    const changed = store.waitForChange(inst, 10_000);
    await store.append("w", text(), bytes("x"));
    equal(await changed, "changed");
    equal(await store.waitForChange(inst, 5), "timeout");
    const abort = new AbortController();
    const aborted = store.waitForChange(inst, 10_000, abort.signal);
    abort.abort();
    equal(await aborted, "aborted");
    equal(await store.waitForChange(inst, 10_000, abort.signal), "aborted");
    // A delete wakes waiters too.
    await store.create("d", put({ contentType: TEXT }), NONE);
    const deleted = store.waitForChange(store.requireReadable("d"), 10_000);
    await store.delete("d");
    equal(await deleted, "changed");
    // endLive ends waits now and later; writes go on.
    const pending = store.waitForChange(inst, 10_000);
    store.endLive();
    equal(await pending, "aborted");
    ok(store.liveEnded);
    equal(await store.waitForChange(inst, 10_000), "aborted");
    equal((await store.append("w", text(), bytes("y"))).nextOffset, formatOffset(2));
    // shutdown refuses writes.
    store.shutdown();
    await failsWith(() => store.append("w", text(), bytes("z")), "unavailable");
    await failsWith(() => store.create("n", put(), NONE), "unavailable");
    await failsWith(() => store.delete("w"), "unavailable");
    equal(await readText(store, "w"), "xy");
  },
);

storeTest(
  "system JSON appends create the stream and keep each message whole",
  async ({ store }) => {
    equal(await appendSystemJson(store, "_changes/t", bytes('{"op":"insert"}')), formatOffset(15));
    const inst = store.requireReadable("_changes/t");
    deepEqual([inst.contentType, inst.ttlSeconds, inst.closed], [JSON_TYPE, null, false]);
    equal(await appendSystemJson(store, "_changes/t", bytes("[1,2]")), formatOffset(20));
    deepEqual(await readMessages(store, "_changes/t"), ['{"op":"insert"}', "[1,2]"]);
    await store.create("plain", put({ contentType: TEXT }), NONE);
    await failsWith(() => appendSystemJson(store, "plain", bytes("1")), "content_type_mismatch");
  },
);

Deno.test("recovery removes a deleted fork whose file outlived its tombstone (dir journal)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "stream-store-" });
  const all: Opened[] = [];
  const clock = { ms: 1_700_000_000_000 };
  try {
    const first = await openAt("dir", dir, clock, all);
    await first.store.create("s", put({ contentType: TEXT }), bytes("abc"));
    const { inst } = await first.store.create("f", fork("s", 3), bytes("x"));
    const file = `${dir}/streams/${inst.id}.log`;
    const created = await Deno.readFile(file);
    await first.store.delete("f");
    await first.close();
    // What a crash after the durable tombstone and before the unlink leaves behind.
    const tombstone = encodeRecord({ type: "delete" }).bytes;
    const crashed = () => Deno.writeFile(file, concatBytes([created, tombstone]));
    await crashed();
    const second = await openAt("dir", dir, clock, all);
    deepEqual(second.store.paths(), ["s"]);
    equal(await readText(second.store, "s"), "abc");
    await rejects(Deno.stat(file), Deno.errors.NotFound);
    // The same with its source gone as well.
    await second.store.delete("s");
    await second.close();
    await crashed();
    const third = await openAt("dir", dir, clock, all);
    deepEqual(third.store.paths(), []);
    await rejects(Deno.stat(file), Deno.errors.NotFound);
  } finally {
    for (const opened of all) await opened.close();
    await Deno.remove(dir, { recursive: true });
  }
});
