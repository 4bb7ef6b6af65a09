/**
 * Contracts between the installer's parts: the package cache (download, verify, extract:
 * src/builder/package/), the linker (one extracted package into a prefix: src/builder/install/)
 * and the orchestrator that installs a whole lock (install.ts).
 */
import type { LockedPackage } from "../lock/types.ts";

/** A package downloaded, verified and extracted in the package cache. */
export interface ExtractedPackage {
  /** `<cache>/pkgs/<name>-<version>-<build>` (absolute), holding `info/` and the payload. */
  dir: string;
  /** What the lock says of it; also written as `info/repodata_record.json` in `dir`. */
  record: LockedPackage;
  /** Path of the archive in the cache (`<cache>/pkgs/<filename>`), for conda-meta. */
  archive: string;
}

export interface FetchProgress {
  /** Bytes downloaded so far for this package (resets to 0 on a retry). */
  onBytes?(delta: number): void;
}

export interface PackageCache {
  /** Absolute path of the cache's `pkgs/` folder. */
  readonly root: string;
  /**
   * Ensures the package is in the cache, extracted: downloads it when absent (sha256 and size
   * verified before use), extracts it (refusing hostile archives), renames it into place. Safe
   * when several processes ask for the same package at once. Rejects with InputError for a bad
   * archive or checksum (exit 1) and InfraError for network or disk trouble (exit 3).
   */
  ensure(pkg: LockedPackage, progress?: FetchProgress): Promise<ExtractedPackage>;
}

/** One file or link as `info/paths.json` describes it (old packages: built from info/files + has_prefix). */
export interface PathEntry {
  /** Relative to the package root, POSIX. */
  path: string;
  type: "hardlink" | "softlink" | "directory";
  sha256?: string;
  size?: number;
  /** Set when the file carries a prefix placeholder. */
  prefixPlaceholder?: string;
  fileMode?: "text" | "binary";
  /** Never hard-link this file: copy it. */
  noLink?: boolean;
}

/** Everything the linker needs to know about the environment it links into. */
export interface LinkContext {
  /** The prefix as it will finally be named: what placeholders and shebangs are rewritten to. */
  prefix: string;
  /** Where files are written now (`<prefix>.partial-<random>`), renamed to `prefix` at the end. */
  staging: string;
  /** The python of the lock, for noarch: python (`3.11`); undefined when the lock has none. */
  pythonVersion?: string;
  /** Target platform (`linux-64`). */
  platform: string;
  /** Hard links are possible from the cache to the staging folder (same filesystem). */
  hardlinks: boolean;
  log?(line: string): void;
}

/** What linking one package produced: the conda-meta `files` and `paths_data`. */
export interface LinkedPackage {
  /** Every path created in the prefix, relative, POSIX, sorted. */
  files: string[];
  paths: {
    _path: string;
    /** conda's path types; entry points it writes are `unix_python_entry_point`. */
    path_type: "hardlink" | "softlink" | "directory" | "unix_python_entry_point";
    sha256?: string;
    /** The sha256 after prefix replacement, where it differs from the package's. */
    sha256_in_prefix?: string;
    size_in_bytes?: number;
    prefix_placeholder?: string;
    file_mode?: "text" | "binary";
    no_link?: boolean;
  }[];
  /** How files got there, for conda-meta `link` ({source, type: 1 hardlink / 2 softlink / 3 copy}). */
  linkType: "hardlink" | "copy";
}
