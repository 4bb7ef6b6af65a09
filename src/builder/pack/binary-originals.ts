/**
 * Binary files with a prefix placeholder, and where their originals are.
 *
 * A binary can only take a prefix that fits the C string it was written into: an installed copy
 * holds the build prefix (here `<state>/builds/<hash>-<name>`, often short), so rewriting it from
 * there would cap every unpack location at that length. The package cache still has the file as
 * the package shipped it, with conda-build's placeholder (255 bytes for modern packages), so the
 * pack stores that original instead and records the placeholder's strings: any reasonable new
 * prefix then fits, as if the package had been installed there directly. The original is used
 * only when rewriting it for the build prefix gives, byte for byte, the installed file (so a file
 * changed after installing, or a cache entry that is gone or different, falls back to the
 * installed copy and its shorter limit).
 *
 * The conda-meta records say which files are binary-placeholder files (`paths_data`) and which
 * cache folder each package was linked from (`extracted_package_dir`); `<cacheDir>/pkgs/<n-v-b>`
 * is tried too, for a prefix whose records name a cache that moved.
 */
import { readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { checkPackagePath } from "../install/package-paths.ts";

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
