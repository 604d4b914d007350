/**
 * The `Request` a listener hands the app: a lazy stand-in built from what Node's parser already
 * has (method, URL, raw headers, the body as a Node stream), so a request costs no `Headers`,
 * `AbortController`, `ReadableStream` or web `Request` unless the app reads them. `method`,
 * `url`, `headers`, `signal`, `body` and the body readers are its own; any other member (`clone()`,
 * `cache`, …) builds the real `Request` once and answers from it. It passes `instanceof Request`,
 * but it is not one to Deno's own code: do not hand it to `fetch()` or `new Request(…)` (the app
 * does neither).
 *
 * @example
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { LazyAbort, NodeRequest } from "./request.ts";
 * const lazy = new NodeRequest("GET", "http://x/a", ["Accept", "text/csv"], null, new LazyAbort());
 * const request = lazy as unknown as Request;
 * equal(request instanceof Request, true);
 * equal(request.headers.get("accept"), "text/csv");
 * equal(request.clone().url, "http://x/a"); // a real Request, made on demand
 * ```
 * @module
 */

import type { Readable } from "node:stream";
import { ApiError } from "../errors.ts";

/** An abort signal made on first use; an abort before then is kept for it. */
export class LazyAbort {
  #controller: AbortController | null = null;
  #reason: unknown = undefined;
  #aborted = false;

  /** The signal (made now if nobody asked before). */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** True once {@link LazyAbort.abort} was called. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** Aborts the signal (now, or when it is made). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** A request body: the Node stream and its declared length (`NaN`: none, chunked). */
export interface NodeBody {
  stream: Readable;
  length: number;
}

/** Header names and values in turn (Node's `rawHeaders`), or a function making the `Headers`. */
export type HeaderSource = readonly string[] | (() => Headers);

/** A `Request` whose parts are made when first read (see the module note). */
export class NodeRequest {
  #method: string;
  #url: string;
  #headerSource: HeaderSource | null;
  #headers: Headers | null = null;
  #source: Readable | null;
  #length: number;
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;
  #abort: LazyAbort;
  #real: Request | null = null;

  /** A request for `method url` with its headers, its body (null: none) and its abort. */
  constructor(
    method: string,
    url: string,
    headers: HeaderSource,
    body: NodeBody | null,
    abort: LazyAbort,
  ) {
    this.#method = method;
    this.#url = url;
    this.#headerSource = headers;
    this.#source = body?.stream ?? null;
    this.#length = body?.length ?? NaN;
    this.#abort = abort;
  }

  /** The request method. */
  get method(): string {
    return this.#method;
  }

  /** The absolute request URL. */
  get url(): string {
    return this.#url;
  }

  /** The request headers (made on first use). */
  get headers(): Headers {
    if (this.#headers === null) {
      const source = this.#headerSource!;
      this.#headerSource = null;
      if (typeof source === "function") this.#headers = source();
      else {
        const made = new Headers();
        for (let i = 0; i < source.length; i += 2) made.append(source[i], source[i + 1]);
        this.#headers = made;
      }
    }
    return this.#headers;
  }

  /** Aborts when the client goes away before the answer is complete. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** The body as a web stream (null without a body). */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.#real) return this.#real.body;
    if (this.#source === null) return null;
    return this.#stream ??= webStreamOf(this.#source, this.#abort);
  }

  /** True once the body was read (or its stream handed out and locked). */
  get bodyUsed(): boolean {
    if (this.#real) return this.#real.bodyUsed;
    return this.#used || (this.#stream?.locked ?? false);
  }

  /**
   * The whole body as bytes, read straight from the Node stream; a body longer than its declared
   * length is refused (400 `invalid_request`).
   */
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#real || this.#stream) return this.#realRequest().bytes();
    if (this.#used) return Promise.reject(new TypeError("Body already consumed"));
    this.#used = true;
    return this.#source === null
      ? Promise.resolve(new Uint8Array(0))
      : readAll(this.#source, this.#length, this.#abort);
  }

  /** The whole body as an `ArrayBuffer`. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.bytes();
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer
      : bytes.slice().buffer;
  }

  /** The whole body as UTF-8 text. */
  async text(): Promise<string> {
    return DECODER.decode(await this.bytes());
  }

  /** The whole body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  /** The real `Request` (made once): every member this class does not answer itself. */
  #realRequest(): Request {
    if (this.#real) return this.#real;
    const init: RequestInit & { duplex?: "half" } = {
      method: this.#method,
      headers: this.headers,
      signal: this.#abort.signal,
    };
    if (this.#source !== null && !this.#used) {
      init.body = this.#stream ?? webStreamOf(this.#source, this.#abort);
      init.duplex = "half";
    }
    this.#real = new Request(this.#url, init);
    return this.#real;
  }

  /** @internal Used by the delegating members defined below. */
  static realOf(request: NodeRequest): Request {
    return request.#realRequest();
  }
}

const DECODER = new TextDecoder();

// Every other member of `Request.prototype` answers from the real request.
for (const key of Reflect.ownKeys(Request.prototype)) {
  if (key === "constructor" || Object.hasOwn(NodeRequest.prototype, key)) continue;
  const descriptor = Object.getOwnPropertyDescriptor(Request.prototype, key)!;
  if (descriptor.get) {
    const get = descriptor.get;
    Object.defineProperty(NodeRequest.prototype, key, {
      get(this: NodeRequest) {
        return get.call(NodeRequest.realOf(this));
      },
      configurable: true,
    });
  } else if (typeof descriptor.value === "function") {
    const method = descriptor.value as (...args: unknown[]) => unknown;
    Object.defineProperty(NodeRequest.prototype, key, {
      value(this: NodeRequest, ...args: unknown[]) {
        return method.apply(NodeRequest.realOf(this), args);
      },
      configurable: true,
      writable: true,
    });
  }
}
Object.setPrototypeOf(NodeRequest.prototype, Request.prototype);

/**
 * Reads a Node stream to its end (rejects when it fails, closes early or passes `limit`; a close
 * before the end is the client leaving, which aborts `abort`).
 */
function readAll(
  source: Readable,
  limit: number,
  abort?: LazyAbort,
): Promise<Uint8Array<ArrayBuffer>> {
  // An HTTP/1.1 body that has fully arrived (most small ones, by the time the app reads them)
  // is in the stream's buffer: take it at once.
  if ((source as { complete?: boolean }).complete === true && source.readableLength === limit) {
    const chunk = source.read() as Uint8Array | null;
    if (chunk !== null && chunk.byteLength === limit) {
      return Promise.resolve(
        new Uint8Array(chunk.buffer as ArrayBuffer, chunk.byteOffset, chunk.byteLength),
      );
    }
    if (chunk !== null) source.unshift(chunk);
  }
  return new Promise((resolve, reject) => {
    const parts: Uint8Array[] = [];
    let size = 0;
    const onData = (chunk: Uint8Array) => {
      parts.push(chunk);
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        source.destroy();
        reject(
          new ApiError("invalid_request", "The request body is longer than its Content-Length."),
        );
      }
    };
    const onEnd = () => {
      cleanup();
      if (parts.length === 1 && parts[0].byteOffset === 0) {
        resolve(new Uint8Array(parts[0].buffer as ArrayBuffer, 0, size));
        return;
      }
      const all = new Uint8Array(size);
      let at = 0;
      for (const part of parts) {
        all.set(part, at);
        at += part.byteLength;
      }
      resolve(all);
    };
    const onError = () => {
      cleanup();
      reject(clientGone(abort));
    };
    const onClose = () => {
      cleanup();
      reject(clientGone(abort));
    };
    const cleanup = () => {
      source.off("data", onData);
      source.off("end", onEnd);
      source.off("error", onError);
      source.off("close", onClose);
    };
    if (source.readableEnded) {
      resolve(new Uint8Array(0));
      return;
    }
    source.on("data", onData);
    source.on("end", onEnd);
    source.on("error", onError);
    source.on("close", onClose);
  });
}

/**
 * What a body read fails with when the connection broke off mid-body: 499, the client's doing
 * (not a 5xx: nothing is wrong with the server). Aborts the request's `abort` at once: the
 * answer is then not written, and is reported as broken off.
 */
function clientGone(abort?: LazyAbort): ApiError {
  abort?.abort(new DOMException("client went away", "AbortError"));
  return new ApiError(
    "client_closed_request",
    "The client went away before sending the whole request body.",
  );
}

/**
 * A web stream over a Node stream, pulled chunk by chunk (backpressure reaches the socket);
 * cancelling it destroys the Node stream, as `Readable.toWeb` does, unless it has fully arrived.
 * A close before the end is the client leaving: the stream fails with 499 and `abort` (if given)
 * aborts.
 */
export function webStreamOf(source: Readable, abort?: LazyAbort): ReadableStream<Uint8Array> {
  let failure: Error | null = null;
  let ended = source.readableEnded;
  let wake: (() => void) | null = null;
  const notify = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = () => {
    failure ??= clientGone(abort);
    notify();
  };
  const onClose = () => {
    if (!ended) failure ??= clientGone(abort);
    notify();
  };
  source.on("readable", notify);
  source.on("end", onEnd);
  source.on("error", onError);
  source.on("close", onClose);
  const detach = () => {
    source.off("readable", notify);
    source.off("end", onEnd);
    source.off("error", onError);
    source.off("close", onClose);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (true) {
        const chunk = source.read() as Uint8Array | null;
        if (chunk !== null) {
          controller.enqueue(chunk);
          return;
        }
        if (failure) {
          detach();
          controller.error(failure);
          return;
        }
        if (ended || source.readableEnded) {
          detach();
          controller.close();
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    cancel(reason) {
      detach();
      // A body that has fully arrived is left to the server, which discards the rest once the
      // answer is sent (the connection lives on, and the answer, a 413 say, reaches the client);
      // one still arriving is cut off with its connection.
      if ((source as { complete?: boolean }).complete !== true) {
        source.destroy(reason instanceof Error ? reason : undefined);
      }
    },
  }, { highWaterMark: 0 });
}
