/**
 * The lock: the solved package set of one environment, for every target platform. Every lock
 * format (conda-lock v1, @EXPLICIT, pinned environment.yml) and the diff are functions of this
 * one value.
 */
import type { Platform } from "../../spec/types.ts";

/** One package chosen by the solver for one target platform. */
export interface LockedPackage {
  name: string;
  version: string;
  build: string;
  buildNumber: number;
  /** The target platform this entry belongs to (`linux-64`, also for noarch packages). */
  platform: Platform;
  /** The subdir the package lives in (`linux-64` or `noarch`). */
  subdir: string;
  /** Channel URL without a trailing slash and without credentials. */
  channel: string;
  /** Download URL, without credentials: `<channel>/<subdir>/<filename>`. */
  url: string;
  filename: string;
  sha256: string;
  md5: string;
  size?: number;
  /** Match specs as in repodata (`python >=3.11,<3.12.0a0`). */
  depends: string[];
  constrains: string[];
  license?: string;
  /** Milliseconds since the epoch, from repodata. */
  timestamp?: number;
  noarch?: "python" | "generic";
  /** `conda` for every package condaops solves; `pip` entries come with the pip issue. */
  manager: "conda" | "pip";
  /** conda-lock's category; condaops uses "main" only. */
  category: string;
  optional: boolean;
}

export interface Lock {
  /** Target platforms, sorted. */
  platforms: Platform[];
  /** Channel URLs in priority order, without credentials. */
  channels: string[];
  /**
   * Per platform, the hash conda-lock uses to tell whether a lock is current. condaops stores
   * the spec hash here (the same for every platform of one spec).
   */
  contentHash: Record<Platform, string>;
  /** The files the lock was made from (`data-science/ml.yaml`). */
  sources: string[];
  /** Packages, sorted by platform then name. */
  packages: LockedPackage[];
  /** Free-form string metadata kept through a round trip (conda-lock's custom_metadata): spec hash, as-of date, commit. */
  metadata: Record<string, string>;
}
