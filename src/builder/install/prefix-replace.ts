/**
 * Prefix replacement, as conda's `core/portability.py` and rattler's `install/link.rs` do it.
 * Packages are built in a long placeholder prefix; files that embed it are copied and rewritten
 * for the install prefix: text files everywhere, binaries inside NUL-terminated C strings padded
 * back to their length (offsets in a binary must not move). Then shebangs that the new prefix made
 * too long for the kernel (127 bytes on Linux) or broke with spaces are rewritten. Pure functions
 * on Buffers: the linker reads placeholder files (small) into memory, never the others.
 */
import { InputError } from "../../errors.ts";

/** The kernel reads at most this much of a `#!` line (Linux; macOS allows 512). */
export const MAX_SHEBANG_LENGTH = 127;

/** Text mode: every occurrence of the placeholder becomes the prefix. */
export function replaceText(data: Buffer, placeholder: string, prefix: string): Buffer {
  const from = Buffer.from(placeholder);
  const to = Buffer.from(prefix);
  let at = data.indexOf(from);
  if (at < 0 || from.length === 0) return data;
  const parts: Buffer[] = [];
  let last = 0;
  while (at >= 0) {
    parts.push(data.subarray(last, at), to);
    last = at + from.length;
    at = data.indexOf(from, last);
  }
  parts.push(data.subarray(last));
  return Buffer.concat(parts);
}

/**
 * Binary mode (conda's `binary_replace`): from each occurrence of the placeholder to the next NUL,
 * the string has all its occurrences replaced and is NUL-padded to its old length. An occurrence
 * with no NUL after it is left alone (it is not a C string). Throws when the prefix is longer.
 */
export function replaceBinary(data: Buffer, placeholder: string, prefix: string): Buffer {
  const from = Buffer.from(placeholder);
  const to = Buffer.from(prefix);
  let at = data.indexOf(from);
  if (at < 0 || from.length === 0) return data;
  if (to.length > from.length) {
    throw new InputError("install.prefix-too-long-binary", `the prefix ${prefix} (${to.length} bytes) is longer than the package's binary placeholder (${from.length} bytes)`, {
      hint: "install into a shorter prefix",
    });
  }
  const out = Buffer.from(data);
  while (at >= 0) {
    const end = data.indexOf(0, at + from.length);
    if (end < 0) break;
    const replaced = replaceText(data.subarray(at, end), placeholder, prefix);
    replaced.copy(out, at);
    out.fill(0, at + replaced.length, end);
    at = data.indexOf(from, end + 1);
  }
  return out;
}

const PYTHON_EXE = /^python(\d+(\.\d+)?)?$/;

/** A POSIX-shell double-quoted string. */
const dq = (s: string): string => `"${s.replace(/["\\$`]/g, "\\$&")}"`;

/**
 * Rewrites a first line `#!<prefix>/...` that is longer than the kernel reads or contains spaces
 * (from the prefix) so that it still runs: a python interpreter gets the `#!/bin/sh` +
 * `'''exec' "<python>" "$0" "$@" #'''` form (valid shell and python, as conda writes entry points
 * and rattler fixes shebangs); any other interpreter `#!/usr/bin/env <name> <options>` (conda's
 * `replace_long_shebang`; it needs the environment's bin on PATH). Other files are returned as is.
 */
export function fixShebang(data: Buffer, prefix: string): Buffer {
  if (data[0] !== 0x23 || data[1] !== 0x21) return data; // "#!"
  const nl = data.indexOf(0x0a);
  const lineEnd = nl < 0 ? data.length : nl;
  const line = data.subarray(0, lineEnd).toString("utf8");
  const body = line.slice(2).replace(/^ */, "");
  // The interpreter is the prefix plus what follows it up to whitespace; without the prefix in
  // front, it is not ours to fix.
  if (!body.startsWith(`${prefix}/`)) return data;
  const rest = body.slice(prefix.length);
  const m = /^(?:\\ |[^ \t\r\n])*/.exec(rest);
  const exe = prefix + (m?.[0] ?? "").replace(/\\ /g, " ");
  const options = rest.slice(m?.[0].length ?? 0);
  if (Buffer.byteLength(line) <= MAX_SHEBANG_LENGTH && !exe.includes(" ")) return data;
  const name = exe.slice(exe.lastIndexOf("/") + 1);
  const shebang = PYTHON_EXE.test(name) ? `#!/bin/sh\n'''exec' ${dq(exe)}${options} "$0" "$@" #'''` : `#!/usr/bin/env ${name}${options}`;
  return Buffer.concat([Buffer.from(shebang), data.subarray(lineEnd)]);
}

export interface RewriteOptions {
  placeholder: string;
  /** The final prefix. */
  prefix: string;
  mode: "text" | "binary";
  /** Target platform: on Windows, text gets forward slashes and binaries are left alone (as conda and rattler do). */
  platform: string;
}

/** conda's `update_prefix` on a file's content: replacement, then the shebang fix (text, not Windows). */
export function rewritePrefix(data: Buffer, o: RewriteOptions): Buffer {
  const win = o.platform.startsWith("win-");
  if (o.mode === "binary") return win ? data : replaceBinary(data, o.placeholder, o.prefix);
  const prefix = win ? o.prefix.replace(/\\/g, "/") : o.prefix;
  const out = replaceText(data, o.placeholder, prefix);
  return win ? out : fixShebang(out, prefix);
}
