/**
 * Binary files with a prefix placeholder, and where their originals are. Shared by the pack
 * artifact (pack/pack-archive.ts: conda-unpack rewrites the original where the pack is unpacked)
 * and the OCI image (oci/layer.ts: the original is rewritten for `/opt/conda/envs/<name>`).
 *
 * A binary can only take a prefix that fits the C string it was written into: an installed copy
 * holds the build prefix (here `<state>/builds/<hash>-<name>`, often short), so rewriting it from
 * there would cap every new location at that length. The package cache still has the file as
 * the package shipped it, with conda-build's placeholder (255 bytes for modern packages), so the
 * pack and the image start from that original instead: any reasonable new prefix then fits, as if
 * the package had been installed there directly. The original is used only when rewriting it for
 * the build prefix gives, byte for byte, the installed file (verifiedOriginal; so a file changed
 * after installing, or a cache entry that is gone or different, falls back to the installed copy
 * and its shorter limit). Where both work they give the same bytes: binary replacement pads each
 * C string back to its length, whichever prefix it held.
 *
 * The conda-meta records say which files are binary-placeholder files (`paths_data`) and which
 * cache folder each package was linked from (`extracted_package_dir`); `<cacheDir>/pkgs/<n-v-b>`
 * is tried too, for a prefix whose records name a cache that moved.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkPackagePath } from "../install/package-paths.ts";
import { replaceBinary } from "../install/prefix-replace.ts";

export interface BinaryPlaceholderFile {
  placeholder: string;
  /** Candidate paths of the package's original file, best first. */
  originals: string[];
}

interface MetaRecord {
  name?: unknown;
  version?: unknown;
  build?: unknown;
  noarch?: unknown;
  package_type?: unknown;
  extracted_package_dir?: unknown;
  paths_data?: { paths?: unknown };
}

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** Where a path of the prefix came from in a noarch: python package (the reverse of noarchPythonPath). */
function noarchSources(path: string): string[] {
  const site = /^lib\/python[^/]+\/site-packages\/(.+)$/.exec(path);
  if (site) return [`site-packages/${site[1]}`];
  if (path.startsWith("bin/")) return [`python-scripts/${path.slice(4)}`];
  return [];
}

/** Binary-placeholder files of the prefix, keyed by their path in it. Unreadable records are skipped. */
export function binaryPlaceholderFiles(prefix: string, cacheDir?: string): Map<string, BinaryPlaceholderFile> {
  const out = new Map<string, BinaryPlaceholderFile>();
  let names: string[];
  try {
    names = readdirSync(join(prefix, "conda-meta")).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return out;
  }
  for (const file of names) {
    let rec: MetaRecord;
    try {
      rec = JSON.parse(readFileSync(join(prefix, "conda-meta", file), "utf8")) as MetaRecord;
    } catch {
      continue;
    }
    const paths = rec.paths_data?.paths;
    if (!Array.isArray(paths)) continue;
    const dirs: string[] = [];
    if (str(rec.extracted_package_dir) && isAbsolute(rec.extracted_package_dir)) dirs.push(rec.extracted_package_dir);
    if (cacheDir && str(rec.name) && str(rec.version) && str(rec.build)) dirs.push(join(cacheDir, "pkgs", `${rec.name}-${rec.version}-${rec.build}`));
    const noarchPython = rec.noarch === "python" || rec.package_type === "noarch_python";
    for (const p of paths as unknown[]) {
      if (!p || typeof p !== "object") continue;
      const { _path: path, prefix_placeholder: placeholder, file_mode: mode } = p as Record<string, unknown>;
      if (!str(path) || !str(placeholder) || mode !== "binary") continue;
      try {
        checkPackagePath(path, file);
      } catch {
        continue;
      }
      const sources = noarchPython ? [...noarchSources(path), path] : [path];
      out.set(path, { placeholder, originals: dirs.flatMap((d) => sources.map((s) => join(d, s))) });
    }
  }
  return out;
}

/** A package's original file, as read from the cache. */
export interface VerifiedOriginal {
  /** Where it was read (one of BinaryPlaceholderFile.originals). */
  path: string;
  data: Buffer;
}

/**
 * The package's original of an installed binary-placeholder file, when rewriting it for
 * `buildPrefix` (the prefix it was installed in) gives exactly `installed`; undefined when no
 * candidate does (the caller then falls back to the installed copy).
 */
export function verifiedOriginal(installed: Buffer, file: BinaryPlaceholderFile, buildPrefix: string): VerifiedOriginal | undefined {
  for (const path of file.originals) {
    let data: Buffer;
    try {
      if (statSync(path).size !== installed.length) continue;
      data = readFileSync(path);
    } catch {
      continue;
    }
    try {
      if (replaceBinary(data, file.placeholder, buildPrefix).equals(installed)) return { path, data };
    } catch {
      // the build prefix did not fit the placeholder: this is not what was installed
    }
  }
  return undefined;
}
