/**
 * Namespace and environment names. They become folder names on disk, database keys, URL path
 * segments and OCI references, so they are checked here once: letters, digits, `.`, `_`, `-`; not
 * starting with `.` or `-` (hidden files, option-like arguments); at most 64 characters. This
 * refuses `/`, `..`, spaces and anything a shell or URL would treat specially.
 */
const IDENTIFIER = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/;

export type IdentifierResult = { ok: true } | { ok: false; reason: string };

export function checkIdentifier(kind: "namespace" | "environment name", value: string): IdentifierResult {
  if (value.length === 0) return { ok: false, reason: `the ${kind} is empty` };
  if (value.length > 64) return { ok: false, reason: `the ${kind} "${value.slice(0, 20)}..." is longer than 64 characters` };
  if (value.startsWith(".") || value.startsWith("-")) return { ok: false, reason: `the ${kind} "${value}" starts with "${value[0]}"` };
  if (!IDENTIFIER.test(value)) {
    const bad = [...value].find((c) => !/[A-Za-z0-9._-]/.test(c)) ?? "";
    const shown = bad === " " ? "a space" : bad === "/" ? '"/"' : JSON.stringify(bad);
    return { ok: false, reason: `the ${kind} "${value}" contains ${shown} (use letters, digits, ".", "_" and "-")` };
  }
  return { ok: true };
}
