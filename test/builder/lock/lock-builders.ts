/**
 * Small Lock values for the lock-format tests: a package is named by name, version and build, and
 * everything else (URL, file name, subdir, hashes) follows from them the way a channel lays it out.
 */
import { createHash } from "node:crypto";
import type { Lock, LockedPackage } from "../../../src/builder/lock/types.ts";

export const CONDA_FORGE = "https://conda.anaconda.org/conda-forge";

export interface PkgOptions {
  platform?: string;
  subdir?: string;
  channel?: string;
  depends?: string[];
  manager?: "conda" | "pip";
  sha256?: string;
  buildNumber?: number;
  category?: string;
  optional?: boolean;
  ext?: ".conda" | ".tar.bz2";
}

export function pkg(name: string, version: string, build: string, o: PkgOptions = {}): LockedPackage {
  const platform = o.platform ?? "linux-64";
  const subdir = o.subdir ?? platform;
  const channel = o.channel ?? CONDA_FORGE;
  const filename = `${name}-${version}-${build}${o.ext ?? ".conda"}`;
  const url = `${channel}/${subdir}/${filename}`;
  const digest = (kind: string): string => createHash("sha256").update(kind + url).digest("hex");
  return {
    name,
    version,
    build,
    buildNumber: o.buildNumber ?? Number(/_(\d+)$/.exec(build)?.[1] ?? 0),
    platform,
    subdir,
    channel,
    url,
    filename,
    sha256: o.sha256 ?? digest("sha256"),
    md5: digest("md5").slice(0, 32),
    depends: o.depends ?? [],
    constrains: [],
    manager: o.manager ?? "conda",
    category: o.category ?? "main",
    optional: o.optional ?? false,
  };
}

export function lockOf(packages: LockedPackage[], extra: Partial<Lock> = {}): Lock {
  const platforms = extra.platforms ?? [...new Set(packages.map((p) => p.platform))].sort();
  return {
    platforms,
    channels: [CONDA_FORGE],
    contentHash: Object.fromEntries(platforms.map((p) => [p, "0".repeat(64)])),
    sources: ["data-science/ml.yaml"],
    packages,
    metadata: {},
    ...extra,
  };
}
