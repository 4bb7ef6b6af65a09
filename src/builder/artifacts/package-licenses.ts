/**
 * Licences of locked packages that the lock does not carry (committed conda-lock files have no
 * `license`): read from what the build has at hand, the installed prefix's conda-meta record
 * (`<prefix>/conda-meta/<name>-<version>-<build>.json`) for its platform, else the package's own
 * `info/index.json` in the package cache, which also holds noarch packages of other platforms.
 * Shared by the build's package rows and the SBOM so both say the same. A package with no
 * readable licence is simply absent from the result: reported by its missing licence, never by
 * failing the build.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LockedPackage } from "../lock/types.ts";

/** `<name>-<version>-<build>`: the key of the result, the name of conda-meta records and cache folders. */
export const packageStem = (p: Pick<LockedPackage, "name" | "version" | "build">): string => `${p.name}-${p.version}-${p.build}`;

/** A stem used as a file name must be one (a hostile lock must not read files elsewhere). */
const plainStem = (stem: string): boolean => stem !== "" && !stem.startsWith(".") && !/[/\\\0]/.test(stem);

async function licenseIn(file: string): Promise<string | undefined> {
  try {
    const data = JSON.parse(await readFile(file, "utf8")) as { license?: unknown };
    return typeof data.license === "string" && data.license.trim() !== "" ? data.license : undefined;
  } catch {
    return undefined;
  }
}

export interface LicenseSources {
  /** The installed prefix and its platform: conda-meta records are read for that platform's packages. */
  installed?: { prefix: string; platform: string };
  /** The package cache root (`<cacheDir>/pkgs/<stem>/info/index.json`). */
  cacheDir?: string;
}

/** Licences, by package stem, of the given packages that have none in the lock. */
export async function missingLicenses(packages: readonly LockedPackage[], sources: LicenseSources): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of packages) {
    const stem = packageStem(p);
    if (p.license !== undefined || out.has(stem) || !plainStem(stem)) continue;
    let license: string | undefined;
    if (sources.installed && p.platform === sources.installed.platform) license = await licenseIn(join(sources.installed.prefix, "conda-meta", `${stem}.json`));
    if (license === undefined && sources.cacheDir) license = await licenseIn(join(sources.cacheDir, "pkgs", stem, "info", "index.json"));
    if (license !== undefined) out.set(stem, license);
  }
  return out;
}
