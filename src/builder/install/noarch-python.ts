/**
 * `noarch: python` packages ship `site-packages/` and `python-scripts/` and leave it to the
 * installer to put them where the environment's python looks (conda's `common/path/python.py`,
 * rattler's `install/python.rs`), and to write their console-script entry points (`info/link.json`)
 * as small python scripts with the environment's interpreter in the shebang (conda's
 * `create_python_entry_point`).
 */
import { InputError } from "../../errors.ts";
import { MAX_SHEBANG_LENGTH } from "./prefix-replace.ts";

const isWindows = (platform: string): boolean => platform.startsWith("win-");

/** `3.11` from `3.11`, `3.11.7` or `3.13t` (free-threaded builds keep their `t`). */
export function pythonMajorMinor(version: string): string {
  const m = /^(\d+)\.(\d+)(t?)/.exec(version);
  if (!m) throw new InputError("install.python-version", `cannot tell the python version from ${JSON.stringify(version)}`);
  return `${m[1]}.${m[2]}${m[3]}`;
}

/** Where site-packages are, relative to the prefix. */
export function sitePackagesDir(pythonVersion: string, platform: string): string {
  return isWindows(platform) ? "Lib/site-packages" : `lib/python${pythonMajorMinor(pythonVersion)}/site-packages`;
}

/** Where scripts and entry points go, relative to the prefix. */
export const binDir = (platform: string): string => (isWindows(platform) ? "Scripts" : "bin");

/** The interpreter, relative to the prefix. */
export function pythonExecutable(pythonVersion: string, platform: string): string {
  return isWindows(platform) ? "python.exe" : `bin/python${pythonMajorMinor(pythonVersion)}`;
}

/** Maps a path of a noarch: python package to its place in the prefix; other paths are unchanged. */
export function noarchPythonPath(path: string, pythonVersion: string, platform: string): string {
  if (path.startsWith("site-packages/")) return `${sitePackagesDir(pythonVersion, platform)}/${path.slice("site-packages/".length)}`;
  if (path.startsWith("python-scripts/")) return `${binDir(platform)}/${path.slice("python-scripts/".length)}`;
  return path;
}

const PY_KEYWORDS = new Set(
  "False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield".split(" "),
);
const isImportPath = (s: string): boolean => s !== "" && s.split(".").every((part) => /^[\p{L}_][\p{L}\p{N}_]*$/u.test(part) && !PY_KEYWORDS.has(part));

export interface EntryPoint {
  command: string;
  module: string;
  func: string;
}

/** Parses `name = module:func` (conda's `parse_entry_point_def`), refusing names that are paths or not python identifiers. */
export function parseEntryPoint(spec: string): EntryPoint {
  const eq = spec.indexOf("=");
  const colon = spec.lastIndexOf(":");
  const fail = (why: string): never => {
    throw new InputError("package.entry-point", `invalid entry point ${JSON.stringify(spec)}: ${why}`, { hint: "the package's info/link.json is malformed" });
  };
  if (eq < 0 || colon < eq) return fail('expected "name = module:function"');
  const command = spec.slice(0, eq).trim();
  const module = spec.slice(eq + 1, colon).trim().replace(/^["']+/, "");
  const func = spec.slice(colon + 1).trim().replace(/["']+$/, "");
  if (!command || /[/\\\0\r\n]/.test(command) || command.startsWith(".")) fail("the command must be a plain file name");
  if (!isImportPath(module)) fail(`${JSON.stringify(module)} is not a python module path`);
  if (!isImportPath(func)) fail(`${JSON.stringify(func)} is not a python function`);
  return { command, module, func };
}

/** conda's shebang for entry points: the `/bin/sh` + `'''exec'` trick when the plain one is too long or has spaces. */
export function pythonShebang(pythonPath: string): string {
  const plain = `#!${pythonPath}\n`;
  if (Buffer.byteLength(plain) <= MAX_SHEBANG_LENGTH && !pythonPath.includes(" ")) return plain;
  return `#!/bin/sh\n'''exec' "${pythonPath.replace(/["\\$`]/g, "\\$&")}" "$0" "$@" #'''\n`;
}

/**
 * The `bin/<name>` script conda writes for an entry point (unix; mode 0755): imports the module,
 * strips `-script.py`/`.exe` from argv[0] and exits with what the function returns.
 * `pythonPath` is the absolute interpreter in the final prefix.
 */
export function entryPointScript(spec: string, pythonPath: string): { path: string; content: string; mode: number } {
  const ep = parseEntryPoint(spec);
  const importName = ep.func.split(".")[0] as string;
  const content = [
    pythonShebang(pythonPath) + "# -*- coding: utf-8 -*-",
    "import re",
    "import sys",
    "",
    `from ${ep.module} import ${importName}`,
    "",
    "if __name__ == '__main__':",
    "    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])",
    `    sys.exit(${ep.func}())`,
    "",
  ].join("\n");
  return { path: `bin/${ep.command}`, content, mode: 0o755 };
}
