// Test support for the linker: stands in for the package cache by extracting archives with the
// command-line tools (tar/bzip2, python's zipfile, zstd), so the linker is tested on its own.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { execa } from "execa";
import type { ExtractedPackage } from "../../../src/builder/install/types.ts";
import type { LockedPackage } from "../../../src/builder/lock/types.ts";
import type { Platform } from "../../../src/spec/types.ts";
import type { Universe, UniverseEntry } from "../../fixtures/universe.ts";

/** Extracts a `.tar.bz2` or `.conda` into `dest` with the CLI tools. */
export async function extractWithCli(archive: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  if (archive.endsWith(".tar.bz2")) {
    await execa("tar", ["-xjf", archive, "-C", dest]);
    return;
  }
  const zip = await mkdtemp(join(tmpdir(), "condaops-zip-"));
  try {
    await execa("python3", ["-m", "zipfile", "-e", archive, zip]);
    for (const f of (await readdir(zip)).filter((n) => n.endsWith(".tar.zst"))) {
      await execa("sh", ["-c", 'zstd -q -d -c "$1" | tar -x -C "$2"', "sh", join(zip, f), dest]);
    }
  } finally {
    await rm(zip, { recursive: true, force: true });
  }
}

const stem = (filename: string): string => filename.replace(/\.(tar\.bz2|conda)$/, "");

/** A lock entry for an archive, from its info/index.json (as the package cache would have it). */
export async function lockedFromArchive(archive: string, dir: string, channel: string, platform: Platform): Promise<LockedPackage> {
  const index = JSON.parse(await readFile(join(dir, "info", "index.json"), "utf8")) as Record<string, unknown>;
  const bytes = readFileSync(archive);
  const subdir = String(index.subdir ?? "noarch");
  const filename = basename(archive);
  const p: LockedPackage = {
    name: String(index.name),
    version: String(index.version),
    build: String(index.build),
    buildNumber: Number(index.build_number ?? 0),
    platform,
    subdir,
    channel,
    url: `${channel}/${subdir}/${filename}`,
    filename,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    md5: createHash("md5").update(bytes).digest("hex"),
    size: bytes.length,
    depends: (index.depends as string[] | undefined) ?? [],
    constrains: (index.constrains as string[] | undefined) ?? [],
    manager: "conda",
    category: "main",
    optional: false,
  };
  if (typeof index.license === "string") p.license = index.license;
  if (typeof index.timestamp === "number") p.timestamp = index.timestamp;
  if (index.noarch === "python" || index.noarch === "generic") p.noarch = index.noarch;
  return p;
}

/** Extracts an archive into `<cache>/<name>-<version>-<build>/`, as the package cache would. */
export async function extractPackage(archive: string, cache: string, channel: string, platform: Platform = "linux-64"): Promise<ExtractedPackage> {
  const dir = join(cache, stem(basename(archive)));
  // Extracted once: re-extracting would rewrite files that earlier prefixes hard-link to.
  if (!existsSync(join(dir, "info", "index.json"))) await extractWithCli(archive, dir);
  return { dir, record: await lockedFromArchive(archive, dir, channel, platform), archive };
}

/** Extracts the universe's `name`-`version` package (linux-64 or noarch, the first channel that has it). */
export async function fixturePackage(u: Universe, cache: string, name: string, version?: string): Promise<ExtractedPackage> {
  const entry: UniverseEntry | undefined = u.packages.find((p) => p.name === name && (version === undefined || p.version === version) && (p.subdir === "linux-64" || p.subdir === "noarch"));
  if (!entry) throw new Error(`no fixture package ${name} ${version ?? ""}`);
  return extractPackage(join(u.dir, entry.path), cache, `https://conda.anaconda.org/${entry.channel}`);
}
