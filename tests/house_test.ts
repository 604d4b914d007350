/**
 * The house rules a parser can check (issue 12's "Done means", the brief's house rules): no file
 * in `lib/` over 500 lines and `lib/http/respond.ts` under 250; no function, method or arrow
 * function of the program (`main.ts`, `cli/`, `lib/`, `tools/`) over 80 lines, counted from its
 * first line to its last with Deno's own parser (the lint plugin API); and every test
 * (`Deno.test` and `t.step`) asserts something, and `node:assert/strict` compares strictly. The
 * import graph's rules are in `architecture_test.ts`.
 * @module
 */

import { deepEqual, equal, notEqual, throws } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** Longest file in `lib/`, in lines. */
const MAX_FILE_LINES = 500;
/** Longest function of the program, in lines (first to last, nested functions included). */
const MAX_FUNCTION_LINES = 80;
/** Files with a tighter bound. */
const FILE_LIMITS: Record<string, number> = { "lib/http/respond.ts": 249 };

/** Calls that assert: node:assert/strict's functions. */
const ASSERTIONS = new Set([
  "ok",
  "equal",
  "notEqual",
  "deepEqual",
  "notDeepEqual",
  "strictEqual",
  "notStrictEqual",
  "deepStrictEqual",
  "notDeepStrictEqual",
  "match",
  "doesNotMatch",
  "throws",
  "doesNotThrow",
  "rejects",
  "doesNotReject",
  "fail",
  "assert",
]);

/** Repository-relative paths of the `.ts` files under `dir` (or `dir` itself), sorted. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const info = Deno.statSync(`${ROOT}${rel}`);
    if (info.isFile) {
      if (rel.endsWith(".ts")) out.push(rel);
      return;
    }
    for (const entry of Deno.readDirSync(`${ROOT}${rel}`)) {
      if (entry.name === "node_modules") continue;
      walk(`${rel}/${entry.name}`);
    }
  };
  walk(dir);
  return out.sort();
}

// The lint plugin API's nodes carry many more fields than its published types name.
// deno-lint-ignore no-explicit-any
type Node = any;

/** What one file holds: its functions, its tests, and which of its functions assert. */
interface Outline {
  functions: { name: string; line: number; lines: number }[];
  /** Tests (`Deno.test`, `t.step`) whose body asserts nothing, by first line and name. */
  silentTests: string[];
  /** Names of the file's functions that assert (directly or through each other). */
  asserting: Set<string>;
}

/** Runs `rule` over `path` (its text on disk, or `text`) with Deno's parser. */
function parse(path: string, rule: Deno.lint.Rule, text?: string): void {
  const plugin: Deno.lint.Plugin = { name: "house", rules: { outline: rule } };
  Deno.lint.runPlugin(plugin, `${ROOT}${path}`, text ?? Deno.readTextFileSync(`${ROOT}${path}`));
}

const ANONYMOUS = "(anonymous)";

/** A function's name as a reader finds it: its own, its variable's, its property's, or none. */
function nameOf(fn: Node): string {
  const parent = fn.parent;
  return fn.id?.name ?? parent?.id?.name ?? parent?.key?.name ?? ANONYMOUS;
}

/** A call: the called name, and the object it is called on (`null` for a plain call). */
interface Call {
  at: number;
  name: string;
  on: string | null;
  node: Node;
}

/**
 * Outlines `path`. `helpers` are functions of the test helper modules known to assert; a test
 * asserts when its body calls an assertion, one of them, or one of the file's asserting
 * functions. A test inside a test factory (a function whose test body calls the factory's
 * parameter) asserts when every function passed to the factory in the file does.
 */
function outline(path: string, helpers: ReadonlySet<string> = new Set(), text?: string): Outline {
  const result: Outline = { functions: [], silentTests: [], asserting: new Set() };
  parse(path, {
    create(context) {
      const text = context.sourceCode.text;
      const lineOf = (offset: number) => text.slice(0, offset).split("\n").length;
      const functions: Node[] = [];
      const calls: Call[] = [];
      const tests: { name: string; line: number; fn: Node }[] = [];
      const inside = (fn: Node, at: number) => at > fn.range[0] && at < fn.range[1];
      const callsIn = (fn: Node) => calls.filter((c) => inside(fn, c.at));
      const visitFunction = (fn: Node) => {
        functions.push(fn);
        const line = lineOf(fn.range[0]);
        result.functions.push({ name: nameOf(fn), line, lines: lineOf(fn.range[1]) - line + 1 });
      };
      return {
        FunctionDeclaration: visitFunction,
        FunctionExpression: visitFunction,
        ArrowFunctionExpression: visitFunction,
        CallExpression(node: Node) {
          const callee = node.callee;
          const member = callee.type === "MemberExpression";
          const name = member ? callee.property?.name : callee.name;
          if (name) {
            calls.push({
              at: node.range[0],
              name,
              on: member ? callee.object?.name ?? "" : null,
              node,
            });
          }
          const isTest = callee.type === "MemberExpression" &&
            (callee.property?.name === "step" ||
              (callee.object?.name === "Deno" && callee.property?.name === "test"));
          if (!isTest) return;
          let title = "";
          let fn: Node = null;
          for (const arg of node.arguments) {
            if (arg.type === "Literal" || arg.type === "TemplateLiteral") {
              title = text.slice(arg.range[0], arg.range[1]);
            }
            if (/Function/.test(arg.type)) fn = arg;
            if (arg.type === "ObjectExpression") {
              for (const p of arg.properties) {
                if (p.key?.name === "name") title = text.slice(p.value.range[0], p.value.range[1]);
                if (p.key?.name === "fn") fn = p.value;
              }
            }
          }
          if (fn) tests.push({ name: title, line: lineOf(node.range[0]), fn });
        },
        "Program:exit"() {
          // The file's asserting functions, to a fixed point.
          for (let grew = true; grew;) {
            grew = false;
            for (const fn of functions) {
              const name = nameOf(fn);
              if (name === ANONYMOUS || result.asserting.has(name)) continue;
              if (callsIn(fn).some(asserts)) {
                result.asserting.add(name);
                grew = true;
              }
            }
          }
          for (const test of tests) {
            if (!testAsserts(test.fn)) result.silentTests.push(`${test.line} ${test.name}`);
          }
        },
      };
      function asserts(call: Call): boolean {
        if (ASSERTIONS.has(call.name) && (call.on === null || call.on === "assert")) return true;
        return helpers.has(call.name) || result.asserting.has(call.name);
      }
      function testAsserts(fn: Node): boolean {
        if (callsIn(fn).some(asserts)) return true;
        // A factory's test: every function handed to the factory must assert.
        const factory = functions.find((f) =>
          f !== fn && inside(f, fn.range[0]) &&
          f.params?.some((p: Node) => callsIn(fn).some((c) => c.name === p.name))
        );
        if (!factory) return false;
        const uses = calls.filter((c) => c.name === nameOf(factory) && !inside(factory, c.at));
        const bodies = uses.flatMap((c) =>
          c.node.arguments.filter((a: Node) => /Function/.test(a.type))
        );
        return bodies.length > 0 &&
          bodies.every((b: Node) => callsIn(b).some(asserts));
      }
    },
  }, text);
  return result;
}

Deno.test("no file in lib/ is over 500 lines, and lib/http/respond.ts is under 250", () => {
  const breaches: string[] = [];
  for (const path of tsFiles("lib")) {
    const lines = Deno.readTextFileSync(`${ROOT}${path}`).split("\n").length - 1;
    if (lines > (FILE_LIMITS[path] ?? MAX_FILE_LINES)) breaches.push(`${path} has ${lines} lines`);
  }
  deepEqual(breaches, []);
});

Deno.test("no function of the program is over 80 lines", () => {
  const breaches: string[] = [];
  for (const path of ["main.ts", "cli", "lib", "tools"].flatMap(tsFiles)) {
    for (const fn of outline(path).functions) {
      if (fn.lines > MAX_FUNCTION_LINES) {
        breaches.push(`${path}:${fn.line} ${fn.name} has ${fn.lines} lines`);
      }
    }
  }
  deepEqual(breaches, []);
});

Deno.test("every test and test step asserts something", () => {
  const files = tsFiles("tests");
  const isHelper = (path: string) => path.split("/").at(-1)!.startsWith("_");
  const helpers = new Set<string>();
  for (const path of files.filter(isHelper)) {
    for (const name of outline(path).asserting) helpers.add(name);
  }
  const silent = files.filter((p) => p.endsWith("_test.ts")).flatMap((path) =>
    outline(path, helpers).silentTests.map((test) => `${path}:${test}`)
  );
  deepEqual(silent, []);
});

Deno.test("the checker counts what it should: a silent test, a helper's assertion, a long function", () => {
  const sample = [
    'Deno.test("silent", async () => { await Promise.resolve(); limiter.fail("a"); });',
    'Deno.test("direct", () => { ok(true); });',
    'Deno.test({ name: "through a helper", fn: () => { check(1); } });',
    'Deno.test("steps", async (t) => { await t.step("quiet", () => { "a".match(/a/); }); });',
    "function check(n: number) { equal(n, 1); }",
    "function factory(body: () => void) { Deno.test('made', () => body()); }",
    "factory(() => { match('a', /a/); });",
    "function long() {",
    ...Array.from({ length: 80 }, (_, i) => `  const v${i} = ${i};`),
    "}",
  ].join("\n");
  const found = outline("tests/sample_test.ts", new Set(), sample);
  deepEqual(found.silentTests, ['1 "silent"', '4 "steps"', '4 "quiet"']);
  deepEqual(found.asserting, new Set(["check", "fn"]));
  deepEqual(found.functions.filter((f) => f.lines > MAX_FUNCTION_LINES), [
    { name: "long", line: 8, lines: 82 },
  ]);
});

Deno.test("node:assert/strict compares strictly (deno.json maps it to tests/_strict_assert.ts)", () => {
  throws(() => deepEqual([1], ["1"]), "deepEqual is strict");
  throws(() => deepEqual(Object.create(null), {}), "deepEqual compares prototypes");
  throws(() => equal(42 as unknown, 42n), "equal is strict");
  throws(() => notEqual(1 as unknown, 1), "notEqual is strict");
  notEqual(1 as unknown, "1");
});
