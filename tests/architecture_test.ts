/**
 * The shape of the house, read from the import graph `deno info --json` gives for the program's
 * entry points (`main.ts`, which reaches every file of `cli/` and `lib/`, and `tools/compile.ts`):
 * no import circle between files; no arrow from a lower layer to a higher one; no arrow between
 * two parts of one layer (the features) except through a contract listed here; and the packages
 * with one home imported from there alone. Type-only imports count like any other. README's
 * "Design and libraries" shows the same layer order ({@link layerLine}).
 * @module
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { runDeno } from "./_helpers.ts";

/**
 * The layers, highest first. A part is a folder (`lib/db/`), a file (`lib/server.ts`) or
 * `lib/*.ts`: every other file directly in `lib/`, the leaves. A file may import its own part and
 * any lower layer; the leaves may import each other.
 */
const LAYERS: readonly { name: string; parts: readonly string[] }[] = [
  { name: "entry points", parts: ["main.ts", "tools/"] },
  { name: "commands", parts: ["cli/"] },
  { name: "server wiring", parts: ["lib/server.ts"] },
  { name: "listener", parts: ["lib/net/"] },
  { name: "HTTP", parts: ["lib/http/"] },
  { name: "features", parts: ["lib/openapi/", "lib/streams/", "lib/auth/", "lib/ops/"] },
  { name: "query stage", parts: ["lib/query/"] },
  { name: "encode stage", parts: ["lib/encode/"] },
  { name: "database", parts: ["lib/db/"] },
  { name: "SQL tooling and permissions", parts: ["lib/sql/", "lib/permissions.ts"] },
  { name: "leaves", parts: ["lib/*.ts"] },
];

/** Arrows allowed between two parts of one layer: the contract a part offers its siblings. */
const CONTRACTS: readonly { from: string; to: string; why: string }[] = [
  {
    from: "lib/streams/",
    to: "lib/openapi/part.ts",
    why: "streams describe their endpoints as an OpenAPI document part",
  },
];

/** Targets that only the named parts may import (an npm package by its name). */
const ONLY_FROM: readonly { target: string; importers: readonly string[]; why: string }[] = [
  {
    target: "lib/http/",
    importers: ["lib/server.ts", "lib/net/"],
    why: "the server wiring mounts the HTTP layer; nothing else knows it",
  },
  { target: "npm:@duckdb/node-api", importers: ["lib/db/"], why: "the driver stays in lib/db" },
  { target: "npm:hono", importers: ["lib/http/"], why: "Hono is the HTTP layer's framework" },
  { target: "npm:commander", importers: ["cli/"], why: "argument parsing is the commands' job" },
  { target: "npm:apache-arrow", importers: ["lib/encode/"], why: "Arrow is an output format" },
  { target: "npm:prom-client", importers: ["lib/ops/"], why: "metrics are the operations' job" },
];

/** The entry points whose graphs are checked. */
const ENTRY_POINTS = ["main.ts", "tools/compile.ts"];

const ROOT = new URL("..", import.meta.url).href;

/** The layer order as README writes it: parts of a layer joined by ` | `, layers by ` → `. */
export function layerLine(): string {
  return LAYERS.map((layer) => layer.parts.join(" | ")).join(" → ");
}

/** The part a repository path belongs to, or null. */
function partOf(path: string): string | null {
  let best: string | null = null;
  for (const part of LAYERS.flatMap((layer) => layer.parts)) {
    const hit = part === "lib/*.ts"
      ? /^lib\/[^/]+\.ts$/.test(path)
      : part.endsWith("/")
      ? path.startsWith(part)
      : path === part;
    // The most specific part wins (`lib/server.ts` over `lib/*.ts`).
    if (hit && (best === null || best === "lib/*.ts" || part.length > best.length)) best = part;
  }
  return best;
}

function layerOf(part: string): number {
  return LAYERS.findIndex((layer) => layer.parts.includes(part));
}

/** An npm specifier's package name: `npm:/hono@4.1.0/jsx` is `npm:hono`. */
function npmName(specifier: string): string {
  const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+)/.exec(specifier);
  return m ? `npm:${m[1]}` : specifier;
}

/** Whether `path` (a repository path or `npm:name`) is `target` or lies under it. */
function within(path: string, target: string): boolean {
  if (target === "lib/*.ts") return /^lib\/[^/]+\.ts$/.test(path);
  return target.endsWith("/") ? path.startsWith(target) : path === target;
}

/** Every import arrow from a file of the repository: to another file or to an npm package. */
type Graph = Map<string, Set<string>>;

async function importGraph(entry: string): Promise<Graph> {
  const run = await runDeno(["info", "--json", entry]);
  equal(run.code, 0, run.stderr);
  const info = JSON.parse(run.stdout);
  const local = (specifier: string) =>
    specifier.startsWith(ROOT) ? specifier.slice(ROOT.length) : null;
  const graph: Graph = new Map();
  for (const module of info.modules) {
    const from = local(module.specifier);
    if (from === null || !from.endsWith(".ts")) continue;
    const arrows = new Set<string>();
    for (const dependency of module.dependencies ?? []) {
      for (const resolved of [dependency.code, dependency.type]) {
        if (!resolved?.specifier) continue;
        const to = local(resolved.specifier);
        if (to !== null) arrows.add(to);
        else if (resolved.specifier.startsWith("npm:")) arrows.add(npmName(resolved.specifier));
      }
    }
    graph.set(from, arrows);
  }
  return graph;
}

/** The import circles of `graph` (strongly connected groups of files), each sorted. */
function circles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1 || graph.get(v)!.has(v)) found.push(group.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found.sort();
}

/** Every breach of the layer order, the contracts and the homes in `graph`. */
function breaches(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, arrows] of graph) {
    const fromPart = partOf(from);
    if (fromPart === null) {
      out.push(`${from} belongs to no layer: add its folder to LAYERS`);
      continue;
    }
    for (const to of arrows) {
      for (const rule of ONLY_FROM) {
        if (within(to, rule.target) && !within(from, rule.target)) {
          if (!rule.importers.some((importer) => within(from, importer))) {
            out.push(
              `${from} -> ${to}: only ${rule.importers.join(", ")} may import ${rule.target}`,
            );
          }
        }
      }
      if (to.startsWith("npm:")) continue;
      const toPart = partOf(to);
      if (toPart === null || toPart === fromPart) continue;
      const [a, b] = [layerOf(fromPart), layerOf(toPart)];
      if (b < a) {
        out.push(
          `${from} -> ${to}: ${LAYERS[a].name} may not import ${LAYERS[b].name}, a higher layer`,
        );
      } else if (b === a && !CONTRACTS.some((c) => within(from, c.from) && within(to, c.to))) {
        out.push(`${from} -> ${to}: ${fromPart} may not import its sibling ${toPart}`);
      }
    }
  }
  return out;
}

/** The graphs of every entry point, merged. */
async function programGraph(): Promise<Graph> {
  const graph: Graph = new Map();
  for (const entry of ENTRY_POINTS) {
    for (const [from, arrows] of await importGraph(entry)) graph.set(from, arrows);
  }
  return graph;
}

/** Repository paths of the `.ts` files under `dir`. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...tsFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

const graph = await programGraph();

Deno.test("the import graph covers every file of cli/ and lib/", () => {
  deepEqual(["cli", "lib"].flatMap(tsFiles).filter((path) => !graph.has(path)).sort(), []);
});

Deno.test("no import circle, no arrow upwards or between features, packages imported at home", () => {
  const found = [
    ...circles(graph).map((group) => `circle: ${group.join(", ")}`),
    ...breaches(graph),
  ].sort();
  deepEqual(found, []);
});

Deno.test("README's design section states the same layer order", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", ROOT));
  ok(readme.includes(layerLine()), `README should state the layers as:\n${layerLine()}`);
});

Deno.test("the checks find a circle, an arrow upwards, a sibling arrow and an import away from home", () => {
  const sample: Graph = new Map([
    ["lib/db/pool.ts", new Set(["lib/db/run.ts", "lib/query/mod.ts"])],
    ["lib/db/run.ts", new Set(["lib/db/pool.ts", "npm:@duckdb/node-api"])],
    ["lib/streams/mod.ts", new Set(["lib/auth/mod.ts", "lib/openapi/part.ts", "lib/glob.ts"])],
    ["lib/query/mod.ts", new Set(["npm:@duckdb/node-api"])],
    ["lib/admin/mod.ts", new Set()],
  ]);
  deepEqual(circles(sample), [["lib/db/pool.ts", "lib/db/run.ts"]]);
  deepEqual(breaches(sample).sort(), [
    "lib/admin/mod.ts belongs to no layer: add its folder to LAYERS",
    "lib/db/pool.ts -> lib/query/mod.ts: database may not import query stage, a higher layer",
    "lib/query/mod.ts -> npm:@duckdb/node-api: only lib/db/ may import npm:@duckdb/node-api",
    "lib/streams/mod.ts -> lib/auth/mod.ts: lib/streams/ may not import its sibling lib/auth/",
  ]);
  equal(npmName("npm:/hono@4.13.19/jsx"), "npm:hono");
  equal(npmName("npm:@duckdb/node-api@1.5.5-r.5"), "npm:@duckdb/node-api");
  equal(partOf("lib/server.ts"), "lib/server.ts");
  equal(partOf("lib/units.ts"), "lib/*.ts");
});
