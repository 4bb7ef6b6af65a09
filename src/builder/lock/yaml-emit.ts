/**
 * Writing YAML scalars that every reader takes back as the same string.
 *
 * Lock files are read by PyYAML (conda-lock; YAML 1.1), yaml-cpp (micromamba) and the `yaml`
 * package (condaops; YAML 1.2 core schema). A plain scalar such as `2022_12`, `1:20` or `yes` is a
 * string to one of them and a number or boolean to another, so a scalar is written plain only
 * when its characters are harmless and neither schema resolves it to anything but itself; else it
 * is single-quoted (double-quoted with JSON escapes when it holds control characters). The
 * output is a pure function of the string, so serialisation stays byte-for-byte deterministic.
 */
import { parse } from "yaml";

/** Characters that may stand in a plain scalar here; first character more restricted. */
const SAFE_PLAIN = /^[A-Za-z0-9_./$(][A-Za-z0-9_./$()\-+*=<>!,~^:@ ]*$/;

const cache = new Map<string, boolean>();

/** Whether YAML 1.1 and YAML 1.2 (core) both read `s`, written plain, as the string `s`. */
function readsBackAsString(s: string): boolean {
  let ok = cache.get(s);
  if (ok === undefined) {
    ok = [parse(s, { version: "1.1" }) as unknown, parse(s, { version: "1.2", schema: "core" }) as unknown].every((v) => v === s);
    if (cache.size > 10_000) cache.clear();
    cache.set(s, ok);
  }
  return ok;
}

function plainIsSafe(s: string): boolean {
  if (!SAFE_PLAIN.test(s)) return false;
  // ": " starts a mapping value, " #" a comment; a trailing space or colon is lost or misread.
  if (s.includes(": ") || s.includes(" #") || s.endsWith(" ") || s.endsWith(":")) return false;
  // A letter-initial scalar is only ever re-typed when it is a short keyword (yes, No, null,
  // TRUE, ...); everything else (digits, dots, `(`) goes through both real parsers.
  if (/^[A-Za-z_]/.test(s) && s.length > 5) return true;
  return readsBackAsString(s);
}

/** One YAML scalar (a mapping key or a value) for `s`. */
export function yamlScalar(s: string): string {
  if (s !== "" && plainIsSafe(s)) return s;
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/.test(s)) {
    // JSON's escapes are YAML double-quoted escapes; JSON leaves these few raw, YAML must not.
    return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  }
  return `'${s.replace(/'/g, "''")}'`;
}
