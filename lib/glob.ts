/**
 * Path globs, as stream names and `stream:<glob>` grants use them: `*` matches within one path
 * segment, `**` matches any number of segments. A leaf: the streams service lists streams with
 * it and the auth stage matches stream grants with it, neither importing the other.
 * @module
 */

/**
 * Compiles a glob into a matcher.
 *
 * @example
 * ```ts
 * import { compileGlob } from "./glob.ts";
 * const m = compileGlob("orders/*");
 * m("orders/2024"); // true
 * m("orders/2024/01"); // false
 * compileGlob("orders/**")("orders/2024/01"); // true
 * ```
 */
export function compileGlob(glob: string): (name: string) => boolean {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === "*" && glob[i + 1] === "*") {
      // `**/` also matches zero segments
      if (glob[i + 2] === "/") {
        re += "(?:.*/)?";
        i += 2;
      } else {
        re += ".*";
        i += 1;
      }
    } else if (ch === "*") {
      re += "[^/]*";
    } else if (ch === "?") {
      re += "[^/]";
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  const compiled = new RegExp(re + "$");
  return (name) => compiled.test(name);
}
