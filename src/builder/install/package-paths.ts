/**
 * Reading an extracted package's `info/`: what to link (`paths.json`, or for packages older than
 * conda-build 3 `files` + `has_prefix` + `no_link`), its `index.json` and `link.json`. Everything
 * here is untrusted input from an archive: malformed files and paths that could leave the prefix
 * (`..`, absolute) are refused with an InputError naming the file, as conda's read.py reads them.
 */
import { lstat, readFile } from "node:fs/promises";
import { join } from "node:path";
import { InputError } from "../../errors.ts";
import type { PathEntry } from "./types.ts";

/** The text placeholder conda-build used before per-package placeholders (`has_prefix` lines with only a path). */
export const CLASSIC_PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3";

export interface IndexJson {
  name: string;
  version: string;
  build: string;
  build_number: number;
  depends: string[];
  constrains?: string[];
  subdir?: string;
  arch?: string | null;
  platform?: string | null;
  noarch?: "python" | "generic";
  license?: string;
  license_family?: string;
  timestamp?: number;
  track_features?: string;
  features?: string;
}

export interface LinkJson {
  noarch: { type: "python"; entry_points: string[] } | { type: "generic" };
  package_metadata_version?: number;
}

type Json = Record<string, unknown>;

const bad = (file: string, message: string): InputError => new InputError("package.metadata", message, { position: { file }, hint: "the package archive is malformed; report it to its maintainers" });

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function readJsonObject(file: string): Promise<Json | undefined> {
  const text = await readOptional(file);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw bad(file, `invalid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw bad(file, "expected a JSON object");
  return value as Json;
}

/** Throws unless `path` is relative, normalised and stays inside the prefix. */
export function checkPackagePath(path: string, file: string): void {
  // A backslash is a separator on Windows only, but "..\\" must not pass anywhere.
  if (!path || /^[/\\]|^[A-Za-z]:/.test(path) || path.includes("\0") || path.split("/").includes("") || path.split(/[/\\]/).some((s) => s === "." || s === "..")) {
    throw new InputError("package.path", `unsafe path ${JSON.stringify(path)}: package paths must be relative, without "..", "." or empty segments`, { position: { file }, hint: "the package archive is malformed or hostile; it was not installed" });
  }
}

const str = (v: unknown): v is string => typeof v === "string";
const strArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(str);

function fromPathsJson(data: Json, file: string): PathEntry[] {
  if (data.paths_version !== 1) throw bad(file, `paths_version ${JSON.stringify(data.paths_version)} is not supported (only 1)`);
  if (!Array.isArray(data.paths)) throw bad(file, '"paths" must be a list');
  return data.paths.map((raw: unknown, i): PathEntry => {
    const where = `paths[${i}]`;
    if (!raw || typeof raw !== "object") throw bad(file, `${where} is not an object`);
    const p = raw as Json;
    if (!str(p._path)) throw bad(file, `${where}._path must be a string`);
    checkPackagePath(p._path, file);
    if (p.path_type !== "hardlink" && p.path_type !== "softlink" && p.path_type !== "directory") throw bad(file, `${where} (${p._path}): unknown path_type ${JSON.stringify(p.path_type)}`);
    const entry: PathEntry = { path: p._path, type: p.path_type };
    if (p.sha256 !== undefined && p.sha256 !== null) {
      if (!str(p.sha256) || !/^[0-9a-f]{64}$/i.test(p.sha256)) throw bad(file, `${where} (${p._path}): sha256 must be 64 hex digits`);
      entry.sha256 = p.sha256.toLowerCase();
    }
    if (p.size_in_bytes !== undefined && p.size_in_bytes !== null) {
      if (typeof p.size_in_bytes !== "number" || !Number.isSafeInteger(p.size_in_bytes) || p.size_in_bytes < 0) throw bad(file, `${where} (${p._path}): size_in_bytes must be a non-negative integer`);
      entry.size = p.size_in_bytes;
    }
    if (p.prefix_placeholder !== undefined && p.prefix_placeholder !== null) {
      if (!str(p.prefix_placeholder) || p.prefix_placeholder === "") throw bad(file, `${where} (${p._path}): prefix_placeholder must be a non-empty string`);
      const mode = p.file_mode ?? "text";
      if (mode !== "text" && mode !== "binary") throw bad(file, `${where} (${p._path}): file_mode must be "text" or "binary"`);
      entry.prefixPlaceholder = p.prefix_placeholder;
      entry.fileMode = mode;
    }
    if (p.no_link === true) entry.noLink = true;
    return entry;
  });
}

/** conda's yield_lines: trimmed, without blank lines and `#` comments. */
const lines = (text: string | undefined): string[] => (text ?? "").split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));

/** Splits like Python's `shlex.split(line, posix=False)` followed by stripping quotes, as conda reads has_prefix. */
function splitHasPrefixLine(line: string): string[] {
  return (line.match(/"[^"]*"|'[^']*'|\S+/g) ?? []).map((t) => t.replace(/^["']+|["']+$/g, ""));
}

/** `info/has_prefix`: `placeholder mode path`, or just `path` (classic placeholder, text mode). */
export function parseHasPrefix(text: string, file: string): Map<string, { placeholder: string; mode: "text" | "binary" }> {
  const out = new Map<string, { placeholder: string; mode: "text" | "binary" }>();
  for (const line of lines(text)) {
    const parts = splitHasPrefixLine(line);
    if (parts.length === 1 && parts[0]) {
      out.set(parts[0], { placeholder: CLASSIC_PLACEHOLDER, mode: "text" });
    } else if (parts.length === 3 && parts[0] && parts[2] && (parts[1] === "text" || parts[1] === "binary")) {
      out.set(parts[2], { placeholder: parts[0], mode: parts[1] });
    } else {
      throw bad(file, `invalid line ${JSON.stringify(line)}: expected "placeholder mode path" or "path"`);
    }
  }
  return out;
}

async function fromOldFormat(dir: string): Promise<PathEntry[]> {
  const info = join(dir, "info");
  const filesText = await readOptional(join(info, "files"));
  if (filesText === undefined) throw bad(join(info, "paths.json"), "the package has neither info/paths.json nor info/files");
  const hasPrefixFile = join(info, "has_prefix");
  const hasPrefix = parseHasPrefix((await readOptional(hasPrefixFile)) ?? "", hasPrefixFile);
  const noLink = new Set([...lines(await readOptional(join(info, "no_link"))), ...lines(await readOptional(join(info, "no_softlink")))]);
  const entries: PathEntry[] = [];
  for (const path of lines(filesText)) {
    checkPackagePath(path, join(info, "files"));
    let type: PathEntry["type"] = "hardlink";
    try {
      const st = await lstat(join(dir, path));
      type = st.isSymbolicLink() ? "softlink" : st.isDirectory() ? "directory" : "hardlink";
    } catch {
      // a missing file is reported by the linker, with the path
    }
    const entry: PathEntry = { path, type };
    const ph = hasPrefix.get(path);
    if (ph) Object.assign(entry, { prefixPlaceholder: ph.placeholder, fileMode: ph.mode });
    if (noLink.has(path)) entry.noLink = true;
    entries.push(entry);
  }
  return entries;
}

/** What to link, from `info/paths.json` (paths_version 1), else `info/files` + `has_prefix` + `no_link`. Paths are validated and unique. */
export async function readPackagePaths(dir: string): Promise<PathEntry[]> {
  const file = join(dir, "info", "paths.json");
  const data = await readJsonObject(file);
  const entries = data ? fromPathsJson(data, file) : await fromOldFormat(dir);
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.path)) throw bad(data ? file : join(dir, "info", "files"), `${e.path} is listed twice`);
    seen.add(e.path);
  }
  return entries;
}

/** `info/index.json`, typed; the fields conda needs are checked. */
export async function readIndexJson(dir: string): Promise<IndexJson> {
  const file = join(dir, "info", "index.json");
  const d = await readJsonObject(file);
  if (!d) throw bad(file, "missing info/index.json");
  for (const k of ["name", "version", "build"] as const) if (!str(d[k]) || d[k] === "") throw bad(file, `"${k}" must be a non-empty string`);
  if (d.build_number !== undefined && (typeof d.build_number !== "number" || !Number.isInteger(d.build_number))) throw bad(file, '"build_number" must be an integer');
  if (d.depends !== undefined && !strArray(d.depends)) throw bad(file, '"depends" must be a list of strings');
  if (d.constrains !== undefined && !strArray(d.constrains)) throw bad(file, '"constrains" must be a list of strings');
  // Old packages say `"noarch": true` or `"noarch_python": true` for noarch python.
  const noarch = d.noarch === "python" || d.noarch === true || d.noarch_python === true ? "python" : d.noarch === "generic" ? "generic" : undefined;
  const optStr = (k: string): string | undefined => (str(d[k]) ? d[k] : undefined);
  const out: IndexJson = {
    name: d.name as string,
    version: d.version as string,
    build: d.build as string,
    build_number: (d.build_number as number | undefined) ?? 0,
    depends: (d.depends as string[] | undefined) ?? [],
  };
  if (d.constrains) out.constrains = d.constrains as string[];
  if (noarch) out.noarch = noarch;
  if (typeof d.timestamp === "number") out.timestamp = d.timestamp;
  for (const k of ["subdir", "license", "license_family", "features"] as const) {
    const v = optStr(k);
    if (v !== undefined) out[k] = v;
  }
  if (str(d.track_features)) out.track_features = d.track_features;
  else if (strArray(d.track_features)) out.track_features = d.track_features.join(" ");
  if (str(d.arch) || d.arch === null) out.arch = d.arch;
  if (str(d.platform) || d.platform === null) out.platform = d.platform;
  return out;
}

/** `info/link.json` (noarch packages), or undefined when the package has none. */
export async function readLinkJson(dir: string): Promise<LinkJson | undefined> {
  const file = join(dir, "info", "link.json");
  const d = await readJsonObject(file);
  if (!d) return undefined;
  const noarch = d.noarch as Json | undefined;
  if (!noarch || typeof noarch !== "object") throw bad(file, '"noarch" must be an object');
  const out: LinkJson = { noarch: { type: "generic" } };
  if (noarch.type === "python") {
    const eps = noarch.entry_points ?? [];
    if (!strArray(eps)) throw bad(file, '"noarch.entry_points" must be a list of strings');
    out.noarch = { type: "python", entry_points: eps };
  } else if (noarch.type !== "generic") {
    throw bad(file, `unknown noarch type ${JSON.stringify(noarch.type)}`);
  }
  if (typeof d.package_metadata_version === "number") out.package_metadata_version = d.package_metadata_version;
  return out;
}
