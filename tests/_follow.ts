/**
 * Followers of a stream for tests: catch-up reads, long-polls and SSE reads of JSON streams that
 * can drop their connection mid-way (a disconnect) and report where to resume, and raw SSE reads
 * with their parser. Every body is consumed or cancelled.
 * @module
 */

import { equal, fail } from "node:assert/strict";

// deno-lint-ignore no-explicit-any
export type Event = Record<string, any>;

/** A catch-up read of every message from `offset`; the reply must be 200. */
export async function readAll(
  url: string,
  headers: Record<string, string> = {},
  offset = "-1",
): Promise<{ events: Event[]; next: string }> {
  const res = await fetch(`${url}?offset=${offset}`, { headers });
  const text = await res.text();
  equal(res.status, 200, `GET ${url}: ${text}`);
  return { events: JSON.parse(text), next: res.headers.get("stream-next-offset")! };
}

/** The stream's tail offset (HEAD). */
export async function tailOf(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { method: "HEAD", headers });
  await res.body?.cancel();
  equal(res.status, 200, `HEAD ${url}`);
  return res.headers.get("stream-next-offset")!;
}

/**
 * One long-poll from `offset`; with `abortMs` the client gives up after that long (a
 * disconnect: no events, resume from the same offset).
 */
export async function longPoll(
  url: string,
  offset: string,
  headers: Record<string, string> = {},
  abortMs?: number,
): Promise<{ status: number; events: Event[]; next: string }> {
  try {
    const res = await fetch(`${url}?offset=${offset}&live=long-poll`, {
      headers,
      signal: abortMs ? AbortSignal.timeout(abortMs) : undefined,
    });
    const text = await res.text();
    return {
      status: res.status,
      events: text ? JSON.parse(text) : [],
      next: res.headers.get("stream-next-offset") ?? offset,
    };
  } catch {
    return { status: 0, events: [], next: offset };
  }
}

/**
 * Reads SSE data events from `offset` until `count` events and the control event after them
 * arrived (or the server ended the response), then disconnects; `next` is the offset the last
 * control event named, where a reconnect resumes.
 */
export async function sse(
  url: string,
  offset: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<{ events: Event[]; next: string }> {
  const ctl = new AbortController();
  const res = await fetch(`${url}?offset=${offset}&live=sse`, { headers, signal: ctl.signal });
  if (res.status !== 200) fail(`SSE ${url}: ${res.status} ${await res.text()}`);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: Event[] = [];
  let next = offset;
  let buffer = "";
  let settled = true; // the last data event was followed by its control event
  while (events.length < count || !settled) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const kind = /^event: (.*)$/m.exec(block)?.[1];
      const data = block.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (kind === "data") {
        events.push(...JSON.parse(data));
        settled = false;
      }
      if (kind === "control") {
        next = JSON.parse(data).streamNextOffset;
        settled = true;
      }
    }
  }
  ctl.abort();
  await reader.cancel().catch(() => {});
  return { events, next };
}

/** The change feed of `table` on the server at `serverUrl` (streams at the default prefix). */
export function feedUrl(serverUrl: string, table: string): string {
  return `${new URL(serverUrl).origin}/v1/stream/_changes/${table}`;
}

/**
 * Follows a stream with long-polls from `offset` while `writes` runs and until `count` events
 * arrived, giving up early on every third poll (a disconnect in the middle of a wait); returns
 * the `request_id` of every event seen, in order.
 */
export async function followLongPoll(
  url: string,
  offset: string,
  writes: Promise<unknown>,
  count: number,
  headers: Record<string, string> = {},
): Promise<string[]> {
  let done = false;
  writes.finally(() => (done = true)).catch(() => {});
  const seen: string[] = [];
  for (let round = 1; (!done || seen.length < count) && round <= 500; round++) {
    const poll = await longPoll(url, offset, headers, round % 3 === 0 ? 5 : undefined);
    for (const e of poll.events) seen.push(e.request_id);
    offset = poll.next;
  }
  await writes;
  return seen;
}

/** Reads an SSE response until `until(received)` is true or the stream ends; then cancels. */
export async function readSse(
  url: string,
  until: (received: string) => boolean,
  timeoutMs = 5000,
): Promise<{ status: number; headers: Headers; received: string }> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  const res = await fetch(url, { signal: ctl.signal });
  let received = "";
  try {
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    while (!until(received)) {
      const { done, value } = await reader.read();
      if (done) break;
      received += dec.decode(value, { stream: true });
    }
    await reader.cancel().catch(() => {});
  } catch (e) {
    if (!(e instanceof DOMException && e.name === "AbortError")) throw e;
  } finally {
    clearTimeout(timer);
  }
  return { status: res.status, headers: res.headers, received };
}

/** Parses SSE text into events. */
export function parseSse(text: string): { event: string; data: string }[] {
  return text.split("\n\n").filter((b) => b.trim()).map((block) => {
    const lines = block.split("\n");
    const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
    const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
    return { event, data };
  });
}
