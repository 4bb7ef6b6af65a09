/**
 * The environment layer: everything in an installed prefix (conda-meta included) as a gzipped tar
 * at `/opt/conda/envs/<name>`, moved to that prefix (relocate.ts). Reproducible: entries sorted by
 * path (bytewise), parents first, mtime 0, uid/gid 0, no user or group names, modes as installed,
 * hard links stored as plain files, symlinks as symlinks; gzip at a fixed level with Node's zlib
 * (header mtime 0, no file name). The uncompressed tar (its digest is the image's `diff_id`) is
 * the same bytes wherever the same environment is built; the compressed blob is too for the same
 * zlib build (Node version). One file at a time is in memory: files over 1 MiB stream from disk,
 * except those that must be rewritten (they carry the prefix, and are small in practice).
 * Binary-placeholder files are rewritten from the package cache's original when it is verified to
 * be what was installed (relocation/binary-originals.ts), else from the installed copy; both give
 * the same bytes where both work, so the layer does not depend on which was available.
 */
import { createHash } from "node:crypto";
// Walking and reading small files are synchronous: a promise round trip through the thread pool
// per file costs more than the read itself (the disk is idle waiting for the queue), while gzip
// and hashing keep running on their own threads.
import { createWriteStream, readFileSync } from "node:fs";
import { readFile, rename, rm } from "node:fs/promises";
import { join, posix } from "node:path";
import { createGzip, constants as zlib } from "node:zlib";
import { InfraError, InputError } from "../../errors.ts";
import { fileChanged, fileChunks, writeTar } from "../archive/tar-writer.ts";
import { PrefixWalker } from "../relocation/prefix-walk.ts";
import type { PrefixEntry } from "../relocation/prefix-walk.ts";
import { binaryPlaceholderFiles, verifiedOriginal } from "../relocation/binary-originals.ts";
import { DigestCounter } from "./digest.ts";
import { normalizeHistory, readPrefixRecords, relocateContent, relocateLink, relocateOriginal, relocateRecord } from "./relocate.ts";
import type { FileMode, RelocateOptions, Rewritten } from "./relocate.ts";

/** gzip level of the environment layer: zlib's default trade-off; fixed, since the level changes the bytes. */
export const LAYER_GZIP_LEVEL = 6;

export interface LayerOptions {
  /** The installed prefix (absolute). */
  prefix: string;
  /** Absolute path of the environment in the image (`/opt/conda/envs/<name>`). */
  target: string;
  /** The environment's conda platform. */
  platform: string;
  /** The package cache root, where originals of binary-placeholder files are looked for too (besides conda-meta's `extracted_package_dir`). */
  cacheDir?: string;
  /** The gzip file to write (through a temporary name in the same folder). */
  out: string;
  gzipLevel?: number;
  signal?: AbortSignal;
  log?(line: string): void;
}

export interface LayerResult {
  /** sha256 of the gzipped blob: the manifest's layer digest. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar: the config's `rootfs.diff_ids` entry. */
  diffId: string;
  /** Entries written, and files rewritten for the new prefix. */
  entries: number;
  relocated: number;
  /** Of the relocated files, the binaries rewritten from the package's original (its long placeholder). */
  fromPackage: number;
}

/** Files up to this size are read whole, bigger ones streamed. */
const READ_WHOLE = 1024 * 1024;

/** The parents of `target` inside the image (`opt`, `opt/conda`, ...), then `target` itself, as tar names. */
function targetDirs(target: string): string[] {
  const parts = target.split("/").filter(Boolean);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}

function checkTarget(target: string): void {
  if (!posix.isAbsolute(target) || posix.normalize(target) !== target || target === "/" || target.endsWith("/")) {
    throw new InputError("oci.target", `the image prefix ${JSON.stringify(target)} must be an absolute, normalised path`);
  }
}

/** Writes the environment layer of `prefix` to `out`. */
export async function writeEnvironmentLayer(o: LayerOptions): Promise<LayerResult> {
  checkTarget(o.target);
  const moved: RelocateOptions = { from: o.prefix.replace(/\/+$/, ""), to: o.target, platform: o.platform };
  const { relocate, records } = await readPrefixRecords(o.prefix);
  const entries = [...new PrefixWalker(o.prefix, "oci").entries()];

  // conda-meta sorts before most of the files it describes: the new sha256 of every rewritten
  // file is computed first (one extra read of those files only).
  // Binary-placeholder files whose verified original is in the package cache are rewritten from
  // it (the path is kept, the original read again when the file is written).
  const rewritten = new Map<string, Rewritten>();
  const originals = new Map<string, { path: string; placeholder: string }>();
  const placeholders = binaryPlaceholderFiles(o.prefix, o.cacheDir);
  const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
  const modeOf = (e: PrefixEntry): FileMode | undefined => (e.kind === "file" ? relocate.get(e.path) : undefined);
  for (const e of entries) {
    const mode = modeOf(e);
    if (mode === undefined) continue;
    o.signal?.throwIfAborted();
    const installed = await readFile(join(o.prefix, e.path));
    const file = mode === "binary" ? placeholders.get(e.path) : undefined;
    const original = file ? verifiedOriginal(installed, file, moved.from) : undefined;
    let data: Buffer;
    if (file && original) {
      originals.set(e.path, { path: original.path, placeholder: file.placeholder });
      data = relocateOriginal(original.data, e.path, file.placeholder, moved);
    } else {
      data = relocateContent(installed, e.path, mode, moved);
    }
    rewritten.set(e.path, { sha256: sha256(data), size: data.length });
  }
  /** A rewritten file's content, as its conda-meta record (written before it) describes it. */
  const moveFile = async (rel: string, mode: FileMode): Promise<Buffer> => {
    const original = originals.get(rel);
    const from = original?.path ?? join(o.prefix, rel);
    const data = original ? relocateOriginal(await readFile(from), rel, original.placeholder, moved) : relocateContent(await readFile(from), rel, mode, moved);
    if (sha256(data) !== rewritten.get(rel)?.sha256) {
      throw new InfraError("oci.file-changed", `${from} changed while the image was made`, { hint: "nothing may write into the environment or the package cache while the image is made; try again" });
    }
    return data;
  };

  const diff = new DigestCounter();
  const blob = new DigestCounter();
  const tmp = `${o.out}.tmp`;
  const base = o.target.slice(1);
  let relocated = 0;
  try {
    // Every entry has mtime 0 (the epoch, as SOURCE_DATE_EPOCH=0 builds and Nix/ko images do).
    await writeTar([diff, createGzip({ level: o.gzipLevel ?? LAYER_GZIP_LEVEL, memLevel: 8, strategy: zlib.Z_DEFAULT_STRATEGY }), blob, createWriteStream(tmp)], async (tar) => {
      for (const d of targetDirs(o.target)) await tar.directory({ path: d, mode: 0o755 });
      let n = 0;
      for (const e of entries) {
        if (++n % 256 === 0) o.signal?.throwIfAborted();
        const entry = { path: `${base}/${e.path}`, mode: e.stat.mode & 0o7777 };
        const { abs } = e;
        if (e.kind === "directory") {
          await tar.directory(entry);
        } else if (e.kind === "symlink") {
          // Absolute links into the prefix point at the image's prefix; the others stay as written.
          await tar.symlink(entry, e.absolute !== undefined ? relocateLink(e.absolute, moved) : e.target);
        } else {
          const size = e.stat.size;
          const mode = modeOf(e);
          const meta = e.path.startsWith("conda-meta/") && !e.path.slice("conda-meta/".length).includes("/") ? e.path.slice("conda-meta/".length) : undefined;
          const record = meta !== undefined ? records.get(meta) : undefined;
          if (mode !== undefined) {
            relocated++;
            await tar.file(entry, await moveFile(e.path, mode));
          } else if (record) {
            const text = relocateRecord(record, rewritten);
            if (text === undefined) await tar.fileFrom(entry, size, fileChunks(abs, size));
            else await tar.file(entry, Buffer.from(text));
          } else if (meta === "history") {
            await tar.file(entry, Buffer.from(normalizeHistory(await readFile(abs, "utf8"))));
          } else if (size <= READ_WHOLE) {
            const data = readFileSync(abs);
            if (data.length !== size) throw fileChanged(abs, data.length, size);
            await tar.file(entry, data);
          } else {
            await tar.fileFrom(entry, size, fileChunks(abs, size));
          }
        }
      }
    });
    await rename(tmp, o.out);
  } finally {
    await rm(tmp, { force: true });
  }
  return { digest: blob.digest(), size: blob.bytes, diffId: diff.digest(), entries: entries.length + targetDirs(o.target).length, relocated, fromPackage: originals.size };
}
