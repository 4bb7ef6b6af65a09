/**
 * Object keys are the one input every storage backend turns into a location (a file under the
 * storage folder, an S3 key, a URL path), so they are checked here, once, for all of them: a
 * relative path of `/`-separated segments, each non-empty and neither `.` nor `..`, with no
 * backslash and no control character, at most 1024 bytes (S3's limit) and at most 255 bytes a
 * segment (a file name's limit). Anything else is refused before any backend touches it.
 */
import { InputError } from "../errors.ts";

export const MAX_KEY_BYTES = 1024;
export const MAX_SEGMENT_BYTES = 255;

const HINT = "object keys are relative paths of /-separated names, e.g. builds/<ns>/<name>/<commit>/log/build.log";

function refuse(what: string, key: string, reason: string): never {
  const shown = JSON.stringify(key.length > 120 ? `${key.slice(0, 120)}...` : key);
  throw new InputError("storage.key", `invalid object ${what} ${shown}: ${reason}`, { hint: HINT });
}

/** Why `text` is not a valid key (or key prefix when `prefix`), or undefined when it is. */
function problem(text: string, prefix: boolean): string | undefined {
  if (typeof text !== "string") return "it is not a string";
  if (text.length === 0) return prefix ? undefined : "it is empty";
  if (Buffer.byteLength(text, "utf8") > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  if (text.startsWith("/")) return "it is an absolute path (keys are relative)";
  if (text.includes("\\")) return 'it contains a backslash (use "/" between segments)';
  const control = /[\u0000-\u001f\u007f]/.exec(text);
  if (control) return `it contains the control character U+${control[0].charCodeAt(0).toString(16).padStart(4, "0").toUpperCase()}`;
  if (/[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) return "it contains an unpaired UTF-16 surrogate";
  const segments = text.split("/");
  // A prefix may end with "/" (all keys in a folder); its last segment may be partial.
  if (prefix && segments[segments.length - 1] === "") segments.pop();
  for (const [i, s] of segments.entries()) {
    if (s === "") return i === segments.length - 1 && !prefix ? "it ends with /" : 'it contains an empty segment ("//")';
    if (s === "." || s === "..") return `it contains a "${s}" segment`;
    if (Buffer.byteLength(s, "utf8") > MAX_SEGMENT_BYTES) return `its segment "${s.slice(0, 20)}..." is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** Throws InputError `storage.key` unless `key` is a safe relative object key; returns its segments. */
export function checkObjectKey(key: string): string[] {
  const p = problem(key, false);
  if (p !== undefined) refuse("key", key, p);
  return key.split("/");
}

/**
 * For `list(prefix)`: like a key, but may be empty (everything) or end with `/` (one folder).
 * A prefix's last segment may be the start of a name (`builds/ns/na` matches `builds/ns/name/...`).
 */
export function checkObjectPrefix(prefix: string): void {
  const p = problem(prefix, true);
  if (p !== undefined) refuse("key prefix", prefix, p);
}
