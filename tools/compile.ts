/**
 * `deno task compile`: builds `dist/duckserve`, one self-extracting executable holding the
 * program, the DuckDB native addon with its `libduckdb.so`, and the API reference assets.
 *
 * - `--self-extracting`: on first run the binary unpacks its files next to itself (in
 *   `.duckserve/`, or under `$XDG_DATA_HOME`/`~/.local/share` when that directory is not
 *   writable), so the addon finds `libduckdb.so` beside it as the dynamic loader requires.
 * - Only npm packages the program imports are embedded: test tools (Playwright, the OpenAPI
 *   validator, ...), DuckDB builds for other platforms, and the unused files of
 *   `swagger-ui-dist` are excluded.
 * - Permissions are baked in: network, files, environment, FFI (the Node-API addon) and system
 *   information; no subprocesses.
 * - The JS heap is bounded like `deno task start`'s: `--max-old-space-size` of
 *   {@link DEFAULT_MAX_HEAP_MB} MB unless `--max-heap MB` says otherwise. DuckDB's results live in
 *   native memory that only the garbage collector frees, so an unbounded heap lets it pile up.
 *
 * Usage: `deno task compile [--output PATH] [--target TRIPLE] [--max-heap MB]`.
 *
 * `deno compile` downloads `denort` (Deno's runtime for compiled programs, one per Deno version and
 * target) once and caches it; offline, that download fails, and this tool says so in one line
 * instead of leaving only the raw DNS error. `DENORT_BIN` is passed through: it names the runtime
 * binary to embed instead of downloading it, and must be a `denort` of this Deno version. Pointed
 * at the `deno` CLI itself, it builds the deno CLI with the payload appended, which runs as `deno`,
 * not as duckserve (the packaging test does that only to inspect the payload); this tool warns.
 * @module
 */

/** Permissions of the compiled binary. */
export const PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

/** The JS heap bound (V8 `--max-old-space-size`, MB) of `deno task start` and the binary. */
export const DEFAULT_MAX_HEAP_MB = 512;

/**
 * Folders of used packages that the program never loads and `deno compile` cannot embed:
 * `bintrees` (under prom-client's tdigest) ships a 2 MB file of 100,000 numbers in `test/perf`
 * that makes `deno compile` overflow its stack.
 */
const UNUSED_FOLDERS: Record<string, readonly string[]> = { bintrees: ["test"] };

/** Files of `swagger-ui-dist` the docs page serves (the rest is left out). */
const SWAGGER_FILES = new Set(["swagger-ui-bundle.js", "swagger-ui.css", "package.json"]);

/** DuckDB's native package for each compile target. */
const BINDINGS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "@duckdb/node-bindings-linux-x64",
  "aarch64-unknown-linux-gnu": "@duckdb/node-bindings-linux-arm64",
  "x86_64-apple-darwin": "@duckdb/node-bindings-darwin-x64",
  "aarch64-apple-darwin": "@duckdb/node-bindings-darwin-arm64",
  "x86_64-pc-windows-msvc": "@duckdb/node-bindings-win32-x64",
};

interface DenoInfo {
  modules: { kind?: string; npmPackage?: string }[];
  npmPackages: Record<string, { name: string; version: string; dependencies: string[] }>;
}

/** `name@version` of every npm package reachable from `main.ts`. */
async function usedPackages(root: string): Promise<Set<string>> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) throw new Error("deno info failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as DenoInfo;
  const seen = new Set<string>();
  const stack = info.modules.flatMap((m) => m.kind === "npm" && m.npmPackage ? [m.npmPackage] : []);
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(info.npmPackages[id]?.dependencies ?? []));
  }
  return new Set([...seen].map((id) => id.split("_")[0]));
}

/** The host's target triple (what `deno compile` builds without `--target`). */
function hostTarget(): string {
  const { arch, os } = Deno.build;
  if (os === "linux") return `${arch}-unknown-linux-gnu`;
  if (os === "darwin") return `${arch}-apple-darwin`;
  return `${arch}-pc-windows-msvc`;
}

/** The `--exclude` paths (relative to the project root) for `target`. */
async function excludedPaths(root: string, target: string): Promise<string[]> {
  const used = await usedPackages(root);
  const binding = BINDINGS[target];
  const excluded: string[] = [];
  for await (const entry of Deno.readDir(`${root}/node_modules/.deno`)) {
    const at = entry.name.lastIndexOf("@");
    if (!entry.isDirectory || at <= 0) continue;
    const name = entry.name.slice(0, at).replace("+", "/");
    const id = `${name}@${entry.name.slice(at + 1)}`;
    const dir = `node_modules/.deno/${entry.name}/node_modules/${name}`;
    const otherPlatform = name.startsWith("@duckdb/node-bindings-") && name !== binding;
    if (!used.has(id) || otherPlatform) {
      excluded.push(dir);
    } else if (UNUSED_FOLDERS[name]) {
      for (const folder of UNUSED_FOLDERS[name]) excluded.push(`${dir}/${folder}`);
    } else if (name === "swagger-ui-dist") {
      for await (const file of Deno.readDir(`${root}/${dir}`)) {
        if (!SWAGGER_FILES.has(file.name)) excluded.push(`${dir}/${file.name}`);
      }
    }
  }
  return excluded.sort();
}

/** The one line printed when `deno compile` could not download denort. */
export function denortHelp(version: string, target: string): string {
  return `compile: deno compile could not download denort ${version} for ${target} (the runtime it ` +
    "embeds; it needs network access once, then it is cached in DENO_DIR). DENORT_BIN cannot " +
    "stand in for the download with the deno CLI: it must name a denort binary of this Deno " +
    `version (denort-${target}.zip of the Deno release); pointed at deno it builds the deno CLI, ` +
    "not duckserve.";
}

/** True when `deno compile`'s error output says the denort download failed. */
export function isDenortDownloadFailure(stderr: string): boolean {
  return /denort/i.test(stderr) &&
    /error sending request|dns error|Connect|timed out|certificate|status code|Not Found/i.test(
      stderr,
    );
}

/** Warns when DENORT_BIN names the deno CLI: the output would run as deno, not duckserve. */
async function checkDenortBin(): Promise<void> {
  const bin = Deno.env.get("DENORT_BIN");
  if (!bin) return;
  const real = (path: string) => Deno.realPath(path).catch(() => path);
  if (await real(bin) === await real(Deno.execPath())) {
    console.error(
      `compile: warning: DENORT_BIN=${bin} is the deno CLI, not denort: the output holds the ` +
        "program but runs as the deno CLI, not as duckserve (use it only to inspect the payload)",
    );
  }
}

/** Runs `deno compile`, copying its stderr through; returns its exit code and that text. */
async function runCompile(args: string[], root: string): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  for await (const chunk of child.stderr) {
    await Deno.stderr.write(chunk);
    stderr += new TextDecoder().decode(chunk, { stream: true });
  }
  return { code: (await child.status).code, stderr };
}

/** Runs `deno compile`; returns its exit code. */
export async function compile(args: string[], root = Deno.cwd()): Promise<number> {
  let output = "dist/duckserve";
  let target = hostTarget();
  let maxHeap = String(DEFAULT_MAX_HEAP_MB);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--output") output = args[++i];
    else if (args[i] === "--target") target = args[++i];
    else if (args[i] === "--max-heap") maxHeap = args[++i];
    else {
      console.error(
        `compile: unknown argument ${args[i]} (use --output PATH, --target TRIPLE, --max-heap MB)`,
      );
      return 2;
    }
  }
  if (!/^[1-9]\d*$/.test(maxHeap ?? "")) {
    console.error(`compile: --max-heap takes a whole number of megabytes, not ${maxHeap}`);
    return 2;
  }
  // Make sure node_modules holds every package (and only then can exclusions be computed).
  const install = await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: root })
    .output();
  if (!install.success) {
    console.error(new TextDecoder().decode(install.stderr));
    return 1;
  }
  const excludes = (await excludedPaths(root, target)).flatMap((p) => ["--exclude", p]);
  await checkDenortBin();
  const { code, stderr } = await runCompile([
    "compile",
    ...PERMISSIONS,
    `--v8-flags=--max-old-space-size=${maxHeap}`,
    "--self-extracting",
    "--target",
    target,
    ...excludes,
    "--output",
    output,
    "main.ts",
  ], root);
  if (code !== 0 && isDenortDownloadFailure(stderr)) {
    console.error(denortHelp(Deno.version.deno, target));
  }
  return code;
}

if (import.meta.main) Deno.exit(await compile(Deno.args));
