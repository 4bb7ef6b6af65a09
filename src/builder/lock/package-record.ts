/**
 * What every lock format shares: reading a package's channel, subdir, file name and build from
 * its URL (conda-lock v1 and @EXPLICIT carry only the URL), the repodata `depends` list <->
 * conda-lock's `dependencies` mapping, the one order packages are listed in, and keeping
 * credentials out of everything a lock is turned into.
 */
import { InputError } from "../../errors.ts";
import type { Platform } from "../../spec/types.ts";
import type { Lock, LockedPackage } from "./types.ts";

export const CONDA_ARCHIVE_EXTENSIONS = [".conda", ".tar.bz2"] as const;

export interface UrlParts {
  /** Everything before `/<subdir>/<filename>`, no trailing slash. */
  channel: string;
  subdir: string;
  filename: string;
}

/** `https://host/conda-forge/linux-64/x-1-h_0.conda` -> channel, subdir, filename; undefined when there are not two path segments to take. */
export function splitPackageUrl(url: string): UrlParts | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/.*?)\/([^/]+)\/([^/]+)$/i.exec(url);
  if (!m || m[1] === undefined || m[2] === undefined || m[3] === undefined) return undefined;
  // `file:///x.conda` would leave the scheme as the channel: not a channel URL.
  if (/^[a-z][a-z0-9+.-]*:\/\/?$/i.test(m[1])) return undefined;
  return { channel: m[1], subdir: m[2], filename: m[3] };
}

/** The file name without `.conda` / `.tar.bz2`, or undefined when it is not a conda archive. */
export function archiveStem(filename: string): string | undefined {
  for (const ext of CONDA_ARCHIVE_EXTENSIONS) {
    if (filename.endsWith(ext) && filename.length > ext.length) return filename.slice(0, -ext.length);
  }
  return undefined;
}

/**
 * The build string of a conda archive named `<name>-<version>-<build>.<ext>`. When the name and
 * version are known they are stripped as a prefix (names may contain `-`); otherwise the last
 * `-`-separated field is the build, as conda's own `rsplit("-", 2)` reads it.
 */
export function buildFromFilename(filename: string, name?: string, version?: string): string | undefined {
  const stem = archiveStem(filename);
  if (stem === undefined) return undefined;
  if (name !== undefined && version !== undefined) {
    const prefix = `${name}-${version}-`;
    if (stem.startsWith(prefix) && stem.length > prefix.length) return stem.slice(prefix.length);
    return undefined;
  }
  const parts = stem.split("-");
  return parts.length >= 3 ? parts.at(-1) : undefined;
}

/**
 * The build number conda-build put into the build string (no lock format carries it): the
 * `_<n>` suffix of `py311h6a678d5_0` / `noxft_h4845f30_101`, else the `<n>_` prefix of `2_gnu` /
 * `4_cp311`, else an inner `_<n>_` as in `hab00c5b_0_cpython`, else a build that is only digits;
 * 0 when there is none (`conda_forge`). A heuristic, right for conda-build's build strings.
 */
export function buildNumberFromBuild(build: string): number {
  const m = /_(\d+)$/.exec(build) ?? /^(\d+)_/.exec(build) ?? /_(\d+)_/.exec(build) ?? /^(\d+)$/.exec(build);
  const n = m?.[1] === undefined ? 0 : Number(m[1]);
  return Number.isSafeInteger(n) ? n : 0;
}

/**
 * Splits a repodata match spec into the package name and the rest, conda-lock's `dependencies`
 * key and value: `python >=3.11,<3.12.0a0` -> [python, >=3.11,<3.12.0a0];
 * `python_abi 3.11.* *_cp311` -> [python_abi, 3.11.* *_cp311]; `libzlib` -> [libzlib, *].
 * The value keeps the build part (conda-lock itself drops it; rattler keeps it), so the
 * mapping converts back to the same `depends` list.
 */
export function splitDepend(spec: string): [string, string] {
  const m = /^\s*([^\s[<>=!~]+)\s*(.*?)\s*$/.exec(spec);
  const name = m?.[1] ?? spec.trim();
  const rest = m?.[2] ?? "";
  return [name, rest === "" ? "*" : rest];
}

/** The inverse of splitDepend. `*` and conda-lock's `""` both mean any version. */
export function joinDepend(name: string, constraint: string): string {
  const c = constraint.trim();
  return c === "" || c === "*" ? name : `${name} ${c}`;
}

/** `depends` as conda-lock's ordered mapping (first entry wins when a name repeats). */
export function dependencyEntries(depends: readonly string[]): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const d of depends) {
    const [name, constraint] = splitDepend(d);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push([name, constraint]);
  }
  return out;
}

/** Names a package depends on (virtual `__` packages included; callers filter by what is locked). */
export function dependencyNames(p: LockedPackage): string[] {
  return p.depends.map((d) => splitDepend(d)[0]);
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The Lock's own order: platform, then name, then manager (conda before pip). */
export function comparePackages(a: LockedPackage, b: LockedPackage): number {
  return byCodeUnit(a.platform, b.platform) || byCodeUnit(a.name, b.name) || byCodeUnit(a.manager, b.manager);
}

export function compareStrings(a: string, b: string): number {
  return byCodeUnit(a, b);
}

/**
 * The packages of one platform of a lock, sorted by name. Asking for a platform the lock was not
 * solved for is an input error (a `--platform` the environment does not have).
 */
export function packagesForPlatform(lock: Lock, platform: Platform): LockedPackage[] {
  if (!lock.platforms.includes(platform)) {
    throw new InputError("lock.platform-missing", `the lock has no platform "${platform}" (it has: ${lock.platforms.join(", ") || "none"})`, {
      hint: "add the platform to the spec's platforms: and solve again, or pick one of those",
    });
  }
  return lock.packages.filter((p) => p.platform === platform).sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.manager, b.manager));
}
