/**
 * `deno run -A main.ts <args>` as a child process for CLI tests: waits for `server_started`
 * (or for the exit), keeps the JSON log events and the raw stderr text.
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A spawned duckserve process. */
export interface Spawned {
  /** Base URL, once `server_started` was logged (null when the process exited first). */
  url: string | null;
  /** The parsed JSON log lines. */
  events: Record<string, unknown>[];
  /** Everything printed on stderr so far. */
  stderr(): string;
  child: Deno.ChildProcess;
  /** Waits for the exit; returns the exit code. */
  exit(): Promise<number>;
}

/**
 * Spawns `main.ts` with `args` (and `env` on top of the inherited environment), in `cwd` (default:
 * the test's working directory).
 */
export async function spawnMain(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<Spawned> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const events: Record<string, unknown>[] = [];
  let text = "";
  const started = Promise.withResolvers<string | null>();
  const reading = (async () => {
    let buffered = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const event = JSON.parse(line);
          events.push(event);
          if (event.event === "server_started") started.resolve(String(event.url));
        } catch {
          // not a log line (e.g. the one-line start-up error)
        }
      }
    }
    started.resolve(null);
  })();
  const url = await started.promise;
  return {
    url,
    events,
    stderr: () => text,
    child,
    async exit() {
      const { code } = await child.status;
      await reading;
      return code;
    },
  };
}
