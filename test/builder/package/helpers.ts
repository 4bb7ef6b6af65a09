// Shared bits of the package-cache tests: locked packages from a served channel, a listing of an
// extracted tree to compare trees, a reference extraction by the system tools, zip patching.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import type { LockedPackage } from "../../../src/builder/lock/types.ts";
import type { Platform } from "../../../src/spec/types.ts";
import type { RepodataRecord } from "../../fixtures/conda-package.ts";
import type { Repodata } from "../../fixtures/channel.ts";

/** A temporary folder removed after the test file. */
export function tempDir(prefix = "condaops-pkg-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function locked(channelUrl: string, filename: string, r: Pick<RepodataRecord, "name" | "version" | "build" | "build_number" | "subdir" | "sha256" | "md5" | "size"> & Partial<RepodataRecord>): LockedPackage {
  return {
    name: r.name,
    version: r.version,
    build: r.build,
    buildNumber: r.build_number,
    platform: (r.subdir === "noarch" ? "linux-64" : r.subdir) as Platform,
    subdir: r.subdir,
    channel: channelUrl,
    url: `${channelUrl}/${r.subdir}/${filename}`,
    filename,
    sha256: r.sha256,
    md5: r.md5,
    size: r.size,
    depends: r.depends ?? [],
    constrains: r.constrains ?? [],
    license: r.license,
    timestamp: r.timestamp,
    noarch: r.noarch,
    manager: "conda",
    category: "main",
    optional: false,
  };
}

/** Every package of `<dir>/<subdir>/repodata.json` for the given subdirs, as locked packages served at `channelUrl`. */
export async function lockedFromChannel(dir: string, channelUrl: string, subdirs: string[]): Promise<LockedPackage[]> {
  const out: LockedPackage[] = [];
  for (const subdir of subdirs) {
    const repodata = JSON.parse(await readFile(join(dir, subdir, "repodata.json"), "utf8")) as Repodata;
    for (const [filename, r] of [...Object.entries(repodata.packages), ...Object.entries(repodata["packages.conda"])]) out.push(locked(channelUrl, filename, r));
  }
  return out;
}

/** One line per file (`path f mode sha256`) or symlink (`path l -> target`), sorted. */
export async function listing(root: string, skip: (rel: string) => boolean = () => false): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const st = await lstat(join(root, r));
      if (st.isSymbolicLink()) out.push(`${r} l -> ${await readlink(join(root, r))}`);
      else if (st.isDirectory()) await walk(r);
      else out.push(`${r} f ${(st.mode & 0o7777).toString(8)} ${createHash("sha256").update(await readFile(join(root, r))).digest("hex")}`);
    }
  };
  await walk("");
  return out.sort();
}

/** Extracts a package with tar / unzip / zstd, as the reference our extraction must match. */
export function referenceExtract(archive: string, dest: string): void {
  const script = archive.endsWith(".tar.bz2")
    ? `mkdir -p "$2" && tar -xjf "$1" -C "$2"`
    : `mkdir -p "$2" && for m in 'info-*.tar.zst' 'pkg-*.tar.zst'; do unzip -p "$1" "$m" | zstd -qdc | tar -x -C "$2"; done`;
  const r = spawnSync("sh", ["-ec", script, "sh", archive, dest]);
  if (r.status !== 0) throw new Error(`reference extraction of ${archive} failed: ${String(r.stderr)}`);
}

/** Normalised modes (0644 / 0755), as condaops writes them, for comparing with a tar extraction. */
export const normaliseModes = (lines: string[]): string[] => lines.map((l) => l.replace(/ f (\d+) ([0-9a-f]{64})$/, (_, m: string, h: string) => ` f ${parseInt(m, 8) & 0o111 ? "755" : "644"} ${h}`));

/** Rewrites every zip local and central header for member `name`: its compression method and/or its name (same length). */
export function patchZip(zip: Buffer, name: string, patch: { method?: number; rename?: string }): Buffer {
  const out = Buffer.from(zip);
  const target = Buffer.from(name);
  for (const [sig, methodAt, nameLenAt, nameAt] of [
    [0x04034b50, 8, 26, 30],
    [0x02014b50, 10, 28, 46],
  ] as const) {
    for (let i = out.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24])); i !== -1; i = out.indexOf(Buffer.from([sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff, sig >>> 24]), i + 4)) {
      const len = out.readUInt16LE(i + nameLenAt);
      if (!out.subarray(i + nameAt, i + nameAt + len).equals(target)) continue;
      if (patch.method !== undefined) out.writeUInt16LE(patch.method, i + methodAt);
      if (patch.rename !== undefined) {
        if (patch.rename.length !== len) throw new Error("rename must keep the length");
        out.write(patch.rename, i + nameAt);
      }
    }
  }
  return out;
}
