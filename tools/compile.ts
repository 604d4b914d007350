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
 *
 * Usage: `deno task compile [--output PATH] [--target TRIPLE]`. `DENORT_BIN` is passed through
 * (`deno compile` uses it instead of downloading the runtime).
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
    } else if (name === "swagger-ui-dist") {
      for await (const file of Deno.readDir(`${root}/${dir}`)) {
        if (!SWAGGER_FILES.has(file.name)) excluded.push(`${dir}/${file.name}`);
      }
    }
  }
  return excluded.sort();
}

/** Runs `deno compile`; returns its exit code. */
export async function compile(args: string[], root = Deno.cwd()): Promise<number> {
  let output = "dist/duckserve";
  let target = hostTarget();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--output") output = args[++i];
    else if (args[i] === "--target") target = args[++i];
    else {
      console.error(`compile: unknown argument ${args[i]} (use --output PATH, --target TRIPLE)`);
      return 2;
    }
  }
  // Make sure node_modules holds every package (and only then can exclusions be computed).
  const install = await new Deno.Command(Deno.execPath(), { args: ["install"], cwd: root })
    .output();
  if (!install.success) {
    console.error(new TextDecoder().decode(install.stderr));
    return 1;
  }
  const excludes = (await excludedPaths(root, target)).flatMap((p) => ["--exclude", p]);
  const status = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...PERMISSIONS,
      "--self-extracting",
      "--target",
      target,
      ...excludes,
      "--output",
      output,
      "main.ts",
    ],
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  return status.code;
}

if (import.meta.main) Deno.exit(await compile(Deno.args));
