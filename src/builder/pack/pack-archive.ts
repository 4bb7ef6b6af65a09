/**
 * `writePack`: an installed prefix as a relocatable `.tar.gz`, in the spirit of conda-pack.
 *
 * The archive holds the prefix's content at its root (`tar -xzf env.tar.gz -C dir` gives
 * `dir/bin/...`), then `.condaops-pack/` (the manifest, the prefix the files hold) and
 * `bin/conda-unpack`, appended last because they are known only once every file was read: one
 * pass over the prefix, each file read once while it is compressed (big files stream in chunks).
 *
 * Reproducible: entries depth first in byte order, owner 0:0 without names, modes as installed,
 * mtimes clamped to `mtime` (the commit's date for a build; install times never leak in), gzip
 * without a name or time. Two packs of one prefix are byte-identical.
 *
 * What holds the build prefix is found by looking for it in every file, not only in the files the
 * packages declare: conda-meta's `paths_data` knows placeholder files, but not entry points,
 * bytecode compiled at install time or what link scripts wrote. Then per file:
 *   binary placeholder files (conda-meta)  the package's original from the cache, with its long
 *                                          placeholder (binary-originals.ts), else the installed copy
 *   `.pyc` holding the prefix              left out; conda-unpack compiles the source again
 *   other files with a NUL byte            binary: C strings recorded at their offsets
 *   the rest                               text: every occurrence replaced at unpack
 * Hard links are stored as plain files (each path its own copy), absolute symlinks into the prefix
 * as relative ones; links out of it are refused (relocation/prefix-walk.ts).
 */
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import { createGzip, constants as zlibConstants } from "node:zlib";
import { InfraError, InputError, isCondaopsError } from "../../errors.ts";
import { fileChanged, fileChunks, writeTar } from "../archive/tar-writer.ts";
import type { TarEntry, TarWriter } from "../archive/tar-writer.ts";
import { CONDAOPS_VERSION } from "../../version.ts";
import { binaryPlaceholderFiles, verifiedOriginal } from "../relocation/binary-originals.ts";
import type { BinaryPlaceholderFile } from "../relocation/binary-originals.ts";
import { condaUnpackScript } from "./conda-unpack.ts";
import { MANIFEST_FORMAT, MANIFEST_PATH, PACK_DIR, PYC_SOURCES_PATH, STATE_PATH, UNPACK_SCRIPT_PATH, maxPrefixOf, serializeManifest } from "./pack-manifest.ts";
import type { BinaryRewrite, PackManifest, PycDrop, TextRewrite } from "./pack-manifest.ts";
import { StreamScanner, cStringRegions } from "./prefix-search.ts";
import { PrefixWalker } from "../relocation/prefix-walk.ts";

export interface PackOptions {
  /** The installed prefix, spelled as its files name it (the path it was installed to). */
  prefix: string;
  /** The `.tar.gz` to write (replaced atomically). */
  out: string;
  /** Latest mtime in the archive: later ones are clamped to it (the commit's date). Default: kept. */
  mtime?: Date;
  /** The package cache root, where originals of binary-placeholder files are looked for too. */
  cacheDir?: string;
  /** Names the environment in the manifest and the script header (`ns/name@commit (linux-64)`). */
  label?: string;
  /** gzip level, 1 (fast) to 9 (small). Default 6. */
  level?: number;
  signal?: AbortSignal;
  log?(line: string): void;
}

export interface PackResult {
  path: string;
  /** Size of the .tar.gz. */
  bytes: number;
  sha256: string;
  /** Regular files in the archive (the pack's own included). */
  files: number;
  /** Every entry: files, folders, links. */
  entries: number;
  rewrites: { text: number; binary: number; pyc: number };
  /** The longest prefix conda-unpack accepts (bytes), null when no binary limits it. */
  maxPrefix: number | null;
}

const SHEBANG = Buffer.from("#!");

const isPyc = (path: string): boolean => path.endsWith(".pyc");

/** The source a .pyc was compiled from: `d/__pycache__/m.cpython-311[.opt-1].pyc` or legacy `d/m.pyc` -> `d/m.py`. */
export function pycSource(path: string): string {
  const cached = /^(.*?)(?:^|\/)__pycache__\/([^/]+?)\.[^./]+(?:\.opt-\d+)?\.pyc$/.exec(path);
  if (cached) return `${cached[1] ? `${cached[1]}/` : ""}${cached[2]}.py`;
  return path.slice(0, -1);
}

class Packer {
  readonly text: TextRewrite[] = [];
  readonly binary: BinaryRewrite[] = [];
  readonly pyc: PycDrop[] = [];
  readonly relinked: { path: string; target: string }[] = [];
  files = 0;
  entries = 0;
  maxMtime = 0;
  private readonly needle: Buffer;
  private readonly clamp: number | undefined;
  private readonly placeholders: Map<string, BinaryPlaceholderFile>;
  private sawBin = false;

  constructor(
    private readonly opts: PackOptions,
    private readonly tar: TarWriter,
  ) {
    this.needle = Buffer.from(opts.prefix);
    this.clamp = opts.mtime ? Math.floor(opts.mtime.getTime() / 1000) : undefined;
    this.placeholders = binaryPlaceholderFiles(opts.prefix, opts.cacheDir);
  }

  /** The prefix has a `bin` folder (else the archive adds one for conda-unpack). */
  get binDirectory(): boolean {
    return this.sawBin;
  }

  private header(path: string, mode: number, mtimeMs: number): TarEntry {
    const own = Math.floor(mtimeMs / 1000);
    const mtime = this.clamp === undefined ? own : Math.min(own, this.clamp);
    if (mtime > this.maxMtime) this.maxMtime = mtime;
    return { path, mode: mode & 0o7777, mtime };
  }

  /** The archive's own files carry the newest mtime of the prefix's (or the clamp). */
  ownHeader(path: string, mode: number): TarEntry {
    return { path, mode, mtime: this.clamp ?? this.maxMtime };
  }

  async run(): Promise<void> {
    const walker = new PrefixWalker(this.opts.prefix, "pack", (p) => p === PACK_DIR || p === UNPACK_SCRIPT_PATH);
    let sinceCheck = 0;
    for (const e of walker.entries()) {
      if (sinceCheck++ % 256 === 0) this.opts.signal?.throwIfAborted();
      this.entries++;
      const h = this.header(e.path, e.stat.mode, e.stat.mtimeMs);
      if (e.kind === "directory") {
        if (e.path === "bin") this.sawBin = true;
        await this.tar.directory(h);
      } else if (e.kind === "symlink") {
        if (e.absolute !== undefined) this.relinked.push({ path: e.path, target: e.target });
        await this.tar.symlink(h, e.target);
      } else {
        await this.file(e.path, e.abs, e.stat.size, h);
      }
    }
  }

  private async file(path: string, abs: string, size: number, h: TarEntry): Promise<void> {
    const placeholder = this.placeholders.get(path);
    if (placeholder || isPyc(path)) {
      const data = readFileSync(abs);
      if (data.length !== size) throw fileChanged(abs, data.length, size);
      if (isPyc(path) && data.includes(this.needle)) {
        const source = pycSource(path);
        if (existsSync(`${this.opts.prefix}/${source}`)) {
          this.pyc.push({ path, source });
          this.entries--;
          return;
        }
        this.opts.log?.(`pack: ${path} embeds the build prefix and has no source to compile it from; kept as it is`);
      } else if (placeholder) {
        const original = this.fromPackage(data, placeholder);
        const stored = original ?? data;
        if (original) {
          const { regions } = cStringRegions(original, Buffer.from(placeholder.placeholder));
          if (regions.length > 0) this.binary.push({ path, mode: h.mode, fromPackage: true, regions });
        } else if (data.includes(this.needle)) {
          this.opts.log?.(`pack: ${path}: the package's original is not in the cache; rewriting the installed copy limits new prefixes to ${this.needle.length} bytes`);
          this.recordBinary(path, h.mode, data);
        }
        this.files++;
        await this.tar.file(h, stored);
        return;
      }
      this.files++;
      await this.tar.file(h, data);
      return;
    }

    // Everything else streams into the archive while it is searched.
    const scan = new StreamScanner(this.needle);
    let head: Buffer | undefined;
    const needle = this.needle;
    const scanned = function* (): Generator<Buffer, void, undefined> {
      for (const chunk of fileChunks(abs, size)) {
        head ??= Buffer.from(chunk.subarray(0, needle.length + 3));
        scan.push(chunk);
        yield chunk;
      }
    };
    await this.tar.fileFrom(h, size, scanned());
    this.files++;
    if (!scan.found) return;
    if (scan.hasNul) {
      // Rare (a binary holding the prefix without saying so): read again to find the strings.
      this.recordBinary(path, h.mode, readFileSync(abs));
    } else {
      const want = Buffer.concat([SHEBANG, this.needle, Buffer.from("/")]);
      const shebang = head !== undefined && head.length >= want.length && head.subarray(0, want.length).equals(want);
      this.text.push({ path, mode: h.mode, shebang });
    }
  }

  /** The package's original when it is exactly what the installed file was made from. */
  private fromPackage(installed: Buffer, p: BinaryPlaceholderFile): Buffer | undefined {
    return verifiedOriginal(installed, p, this.opts.prefix)?.data;
  }

  private recordBinary(path: string, mode: number, data: Buffer): void {
    const { regions, loose } = cStringRegions(data, this.needle);
    if (loose > 0) this.opts.log?.(`pack: warning: ${path} holds the build prefix ${loose} time(s) outside C strings; those stay as they are`);
    if (regions.length > 0) this.binary.push({ path, mode, fromPackage: false, regions });
  }

  manifest(): PackManifest {
    return {
      format: MANIFEST_FORMAT,
      condaops: CONDAOPS_VERSION,
      ...(this.opts.label !== undefined ? { label: this.opts.label } : {}),
      text: this.text,
      binary: this.binary,
      pyc: this.pyc,
      relinked: this.relinked,
      maxPrefix: maxPrefixOf(this.binary),
    };
  }
}

function checkOptions(opts: PackOptions): void {
  if (!isAbsolute(opts.prefix) || opts.prefix.length < 2 || opts.prefix.endsWith("/")) {
    throw new InputError("pack.prefix", `the prefix ${JSON.stringify(opts.prefix)} is not an absolute path without a trailing slash`);
  }
  let st;
  try {
    st = statSync(opts.prefix);
  } catch (e) {
    throw new InputError("pack.prefix", `cannot pack ${opts.prefix}: ${(e as Error).message}`, { hint: "install the environment first", cause: e });
  }
  if (!st.isDirectory()) throw new InputError("pack.prefix", `cannot pack ${opts.prefix}: not a folder`);
  if (opts.level !== undefined && !(Number.isInteger(opts.level) && opts.level >= 1 && opts.level <= 9)) {
    throw new InputError("pack.level", `gzip level ${opts.level} is not an integer from 1 to 9`);
  }
}

/** Packs `opts.prefix` into `opts.out`. Rejects with InputError for what cannot be packed, InfraError for I/O failures. */
export async function writePack(opts: PackOptions): Promise<PackResult> {
  checkOptions(opts);
  const tmp = `${opts.out}.partial-${process.pid}`;
  const gzip = createGzip({ level: opts.level ?? 6, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
  const hash = createHash("sha256");
  let bytes = 0;
  gzip.on("data", (c: Buffer) => {
    hash.update(c);
    bytes += c.length;
  });
  let file;
  try {
    file = createWriteStream(tmp, { mode: 0o644 });
  } catch (e) {
    throw new InfraError("pack.write", `cannot write ${tmp}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const { packer, manifest } = await writeTar([gzip, file], async (tar) => {
      const packer = new Packer(opts, tar);
      await packer.run();
      const manifest = packer.manifest();
      const own = (path: string, mode: number) => packer.ownHeader(path, mode);
      await tar.directory(own(PACK_DIR, 0o755));
      await tar.file(own(MANIFEST_PATH, 0o644), Buffer.from(serializeManifest(manifest)));
      await tar.file(own(STATE_PATH, 0o644), Buffer.from(opts.prefix));
      if (manifest.pyc.length) await tar.file(own(PYC_SOURCES_PATH, 0o644), Buffer.from(manifest.pyc.map((p) => `${p.source}\0`).join("")));
      if (!packer.binDirectory) await tar.directory(own("bin", 0o755));
      await tar.file(own(UNPACK_SCRIPT_PATH, 0o755), Buffer.from(condaUnpackScript(manifest)));
      return { packer, manifest };
    });
    renameSync(tmp, opts.out);
    const ownFiles = 3 + (manifest.pyc.length ? 1 : 0);
    opts.log?.(
      `pack: ${packer.files} files, ${packer.entries} entries, ${bytes} bytes; conda-unpack rewrites ${manifest.text.length} text files and ${manifest.binary.length} binaries` +
        (manifest.pyc.length ? `, compiles ${manifest.pyc.length} bytecode files` : "") +
        (manifest.maxPrefix ? `; new prefixes up to ${manifest.maxPrefix.bytes} bytes` : ""),
    );
    return {
      path: opts.out,
      bytes,
      sha256: hash.digest("hex"),
      files: packer.files + ownFiles,
      entries: packer.entries + ownFiles + 1 + (packer.binDirectory ? 0 : 1),
      rewrites: { text: manifest.text.length, binary: manifest.binary.length, pyc: manifest.pyc.length },
      maxPrefix: manifest.maxPrefix?.bytes ?? null,
    };
  } catch (e) {
    // writeTar rejects once every stream is torn down.
    rmSync(tmp, { force: true });
    if (isCondaopsError(e) || (e instanceof Error && e.name === "AbortError")) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new InfraError("pack.write", `cannot pack ${opts.prefix} into ${opts.out}: ${(e as Error).message}`, {
      hint: code === "ENOSPC" ? `free space in ${dirname(opts.out)}` : "check the prefix and the output folder",
      cause: e,
    });
  }
}
