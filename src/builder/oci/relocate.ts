/**
 * Moving an installed environment to another prefix inside an image. The installer replaced each
 * package's prefix placeholder with the build's prefix; the image has the environment at
 * `/opt/conda/envs/<name>`. The files to rewrite are the ones conda-meta says carried a
 * placeholder (`paths_data.paths[]` with `prefix_placeholder` and `file_mode`) plus the python
 * entry points the installer wrote (they name the build's python); they are rewritten with the
 * installer's own functions, the build prefix playing the placeholder (text: every occurrence;
 * binary: NUL-padded C strings, so the new prefix may not be longer). A binary whose original the
 * package cache still has (relocation/binary-originals.ts) is rewritten from that original
 * instead, the package's own placeholder (255 bytes for conda-build's) playing the placeholder,
 * so a short build prefix does not limit the image's. conda-meta records follow:
 * `sha256_in_prefix` of rewritten files, and package-cache paths pointing where a conda at
 * `/opt/conda` keeps its cache; `history` dates become the epoch, so that the layer depends on the
 * environment only, never on when or where it was installed.
 *
 * Not rewritten (see the README): files that post-link scripts or byte-compilation wrote with the
 * build prefix in them (`.pyc` files keep it for tracebacks only).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { InputError } from "../../errors.ts";
import { rewritePrefix } from "../install/prefix-replace.ts";

export type FileMode = "text" | "binary";

/** Where a conda at `/opt/conda` keeps its package cache: conda-meta's cache paths are pointed there. */
export const IMAGE_PKGS_DIR = "/opt/conda/pkgs";

/** conda-meta as read from the prefix: which files to rewrite and the records that describe them. */
export interface PrefixRecords {
  /** Path relative to the prefix (POSIX) -> how its prefix is embedded. */
  relocate: Map<string, FileMode>;
  /** `conda-meta/<file>.json` -> the parsed record, for those that parse. */
  records: Map<string, Record<string, unknown>>;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function pathEntries(record: Json): Json[] {
  const data = record.paths_data;
  if (!isObject(data) || !Array.isArray(data.paths)) return [];
  return data.paths.filter(isObject);
}

/** Reads `conda-meta/*.json` of an installed prefix. A prefix without conda-meta is refused: it was not installed by a conda installer. */
export async function readPrefixRecords(prefix: string): Promise<PrefixRecords> {
  const dir = join(prefix, "conda-meta");
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InputError("oci.no-conda-meta", `${prefix} has no conda-meta folder: it is not an installed conda environment`, { hint: "build the image from a prefix a conda installer made" });
    }
    throw e;
  }
  const relocate = new Map<string, FileMode>();
  const records = new Map<string, Json>();
  for (const name of names) {
    const file = join(dir, name);
    let record: unknown;
    try {
      record = JSON.parse(await readFile(file, "utf8"));
    } catch (e) {
      throw new InputError("oci.conda-meta", `${file}: invalid JSON (${(e as Error).message})`, { position: { file }, hint: "the prefix is damaged; install it again" });
    }
    if (!isObject(record)) throw new InputError("oci.conda-meta", `${file}: expected a JSON object`, { position: { file }, hint: "the prefix is damaged; install it again" });
    records.set(name, record);
    for (const p of pathEntries(record)) {
      if (typeof p._path !== "string") continue;
      const path = posix.normalize(p._path);
      if (typeof p.prefix_placeholder === "string" && p.prefix_placeholder !== "") relocate.set(path, p.file_mode === "binary" ? "binary" : "text");
      else if (p.path_type === "unix_python_entry_point") relocate.set(path, "text");
    }
  }
  return { relocate, records };
}

export interface RelocateOptions {
  /** The prefix the environment was installed in (what its files name). */
  from: string;
  /** Where it lives in the image. */
  to: string;
  /** The conda platform (shebang and Windows rules of the installer). */
  platform: string;
}

/**
 * The content of `rel` (a file conda-meta lists) for the new prefix, from its installed copy; an
 * InputError names the file when it cannot be moved (a binary whose build prefix is shorter than
 * the image's: only when the package cache had no usable original, see relocateOriginal).
 */
export function relocateContent(data: Buffer, rel: string, mode: FileMode, o: RelocateOptions): Buffer {
  try {
    return rewritePrefix(data, { placeholder: o.from, prefix: o.to, mode, platform: o.platform });
  } catch (e) {
    if (e instanceof InputError) {
      throw new InputError(
        "oci.prefix-too-long",
        `${rel}: the image prefix ${o.to} (${Buffer.byteLength(o.to)} bytes) is longer than the build prefix ${o.from} (${Buffer.byteLength(o.from)} bytes) it replaces in this binary file, and the package cache has no original of it with the package's own placeholder (missing, or not what was installed)`,
        {
          hint: "a binary's embedded prefix can only be replaced by one no longer than it: keep the package cache the environment was installed from, build into a longer prefix (state folder), or use a shorter environment name",
          cause: e,
        },
      );
    }
    throw e;
  }
}

/** The content of the binary-placeholder file `rel` for the new prefix, from the package's original (binary-originals.ts's verifiedOriginal) with its `placeholder`. */
export function relocateOriginal(original: Buffer, rel: string, placeholder: string, o: RelocateOptions): Buffer {
  try {
    return rewritePrefix(original, { placeholder, prefix: o.to, mode: "binary", platform: o.platform });
  } catch (e) {
    if (e instanceof InputError) {
      throw new InputError("oci.prefix-too-long", `${rel}: the image prefix ${o.to} (${Buffer.byteLength(o.to)} bytes) is longer than the package's binary placeholder (${Buffer.byteLength(placeholder)} bytes) in this file`, {
        hint: "a binary's embedded prefix can only be replaced by one no longer than its placeholder: use a shorter environment name",
        cause: e,
      });
    }
    throw e;
  }
}

/** A symlink's target in the image: absolute targets into the build prefix move with it; others are kept. */
export function relocateLink(target: string, o: RelocateOptions): string {
  if (target === o.from) return o.to;
  if (target.startsWith(`${o.from}/`)) return o.to + target.slice(o.from.length);
  return target;
}

function cachePath(v: unknown): unknown {
  if (typeof v !== "string" || v === "") return v;
  return posix.join(IMAGE_PKGS_DIR, posix.basename(v.replace(/\\/g, "/")));
}

/** A rewritten file's new content, as conda-meta describes it. */
export interface Rewritten {
  /** sha256, hex. */
  sha256: string;
  size: number;
}

/**
 * A conda-meta record for the image: `sha256_in_prefix` of rewritten files (entry points, which
 * the installer wrote itself, also get `sha256` and `size_in_bytes`), and package-cache paths
 * under IMAGE_PKGS_DIR. Returns undefined when nothing changed (the file is then copied byte for
 * byte).
 */
export function relocateRecord(record: Json, rewritten: ReadonlyMap<string, Rewritten>): string | undefined {
  const out = structuredClone(record);
  let changed = false;
  const set = (o: Json, key: string, value: unknown, always = false): void => {
    if ((always || o[key] !== undefined) && o[key] !== value) {
      o[key] = value;
      changed = true;
    }
  };
  for (const p of pathEntries(out)) {
    const r = typeof p._path === "string" ? rewritten.get(posix.normalize(p._path)) : undefined;
    if (r === undefined) continue;
    set(p, "sha256_in_prefix", r.sha256, true);
    if (p.path_type === "unix_python_entry_point") {
      set(p, "sha256", r.sha256);
      set(p, "size_in_bytes", r.size);
    }
  }
  set(out, "extracted_package_dir", cachePath(out.extracted_package_dir));
  set(out, "package_tarball_full_path", cachePath(out.package_tarball_full_path));
  if (isObject(out.link)) set(out.link, "source", cachePath(out.link.source));
  return changed ? `${JSON.stringify(out, null, 2)}\n` : undefined;
}

/** conda-meta/history with every revision dated at the epoch (conda reads the dates as text). */
export function normalizeHistory(text: string): string {
  return text.replace(/^==> .* <==$/gm, "==> 1970-01-01 00:00:00 <==");
}
