/**
 * The pack manifest: the record, made at pack time, of every file in the archive that holds the
 * old prefix and how to rewrite it, so `conda-unpack` rewrites exactly those files and never scans
 * the tree. It travels in the archive as `.condaops-pack/manifest.json` (readable by tools and
 * tests; `bin/conda-unpack` is generated from the same value), next to `.condaops-pack/prefix`,
 * the prefix the files hold now (the build prefix in the archive; the new one after each unpack).
 * The manifest itself never contains a prefix, so after unpacking no file names the build folder.
 *
 * Not under `conda-meta/`: conda reads every `conda-meta/*.json` as a package record.
 */
import type { CStringRegion } from "./prefix-search.ts";
import { regionCapacity } from "./prefix-search.ts";

export const PACK_DIR = ".condaops-pack";
export const MANIFEST_PATH = `${PACK_DIR}/manifest.json`;
export const STATE_PATH = `${PACK_DIR}/prefix`;
/** NUL-separated sources of the bytecode left out of the archive (recompiled by conda-unpack). */
export const PYC_SOURCES_PATH = `${PACK_DIR}/pyc-sources`;
export const UNPACK_SCRIPT_PATH = "bin/conda-unpack";
export const MANIFEST_FORMAT = "condaops-pack/1";

export interface TextRewrite {
  /** Relative to the prefix, POSIX. */
  path: string;
  /** Permission bits, restored when the file had to be made writable. */
  mode: number;
  /** The first line is `#!<prefix>/...`: fixed when the new prefix makes it unusable (too long, spaces). */
  shebang: boolean;
}

export interface BinaryRewrite {
  path: string;
  mode: number;
  /**
   * The file in the archive is the package's original, with its own (long) placeholder, rather
   * than the installed copy: unpacking writes the new prefix where the placeholder was.
   */
  fromPackage: boolean;
  regions: CStringRegion[];
}

export interface PycDrop {
  /** The bytecode file left out of the archive. */
  path: string;
  /** Its source, recompiled by conda-unpack with the environment's python. */
  source: string;
}

export interface PackManifest {
  format: typeof MANIFEST_FORMAT;
  condaops: string;
  /** `ns/name@commit (platform)` or whatever the caller names the environment. */
  label?: string;
  text: TextRewrite[];
  binary: BinaryRewrite[];
  pyc: PycDrop[];
  /** Absolute symlinks into the prefix, stored relative: informational. */
  relinked: { path: string; target: string }[];
  /** The longest prefix every binary string can hold, and the file that limits it; null without binaries. */
  maxPrefix: { bytes: number; path: string } | null;
}

export function maxPrefixOf(binary: readonly BinaryRewrite[]): PackManifest["maxPrefix"] {
  let best: PackManifest["maxPrefix"] = null;
  for (const b of binary) {
    for (const r of b.regions) {
      const cap = regionCapacity(r);
      if (!best || cap < best.bytes) best = { bytes: cap, path: b.path };
    }
  }
  return best;
}

/** The manifest as stored: segments in hex (they are arbitrary bytes), keys in a fixed order. */
export function serializeManifest(m: PackManifest): string {
  const json = {
    format: m.format,
    condaops: m.condaops,
    ...(m.label !== undefined ? { label: m.label } : {}),
    maxPrefix: m.maxPrefix,
    text: m.text.map((t) => ({ path: t.path, mode: t.mode.toString(8), shebang: t.shebang })),
    binary: m.binary.map((b) => ({
      path: b.path,
      mode: b.mode.toString(8),
      fromPackage: b.fromPackage,
      regions: b.regions.map((r) => ({ offset: r.offset, length: r.length, segments: r.segments.map((s) => s.toString("hex")) })),
    })),
    pyc: m.pyc,
    relinked: m.relinked,
  };
  return `${JSON.stringify(json, null, 1)}\n`;
}

/** Reads a stored manifest back (for tools and tests). Throws on anything but this format. */
export function parseManifest(text: string): PackManifest {
  const raw = JSON.parse(text) as {
    format?: unknown;
    condaops: string;
    label?: string;
    maxPrefix: PackManifest["maxPrefix"];
    text: { path: string; mode: string; shebang: boolean }[];
    binary: { path: string; mode: string; fromPackage: boolean; regions: { offset: number; length: number; segments: string[] }[] }[];
    pyc: PycDrop[];
    relinked: PackManifest["relinked"];
  };
  if (raw.format !== MANIFEST_FORMAT) throw new Error(`not a ${MANIFEST_FORMAT} manifest (format ${JSON.stringify(raw.format)})`);
  return {
    format: MANIFEST_FORMAT,
    condaops: raw.condaops,
    ...(raw.label !== undefined ? { label: raw.label } : {}),
    maxPrefix: raw.maxPrefix,
    text: raw.text.map((t) => ({ path: t.path, mode: parseInt(t.mode, 8), shebang: t.shebang })),
    binary: raw.binary.map((b) => ({
      path: b.path,
      mode: parseInt(b.mode, 8),
      fromPackage: b.fromPackage,
      regions: b.regions.map((r) => ({ offset: r.offset, length: r.length, segments: r.segments.map((s) => Buffer.from(s, "hex")) })),
    })),
    pyc: raw.pyc,
    relinked: raw.relinked,
  };
}
