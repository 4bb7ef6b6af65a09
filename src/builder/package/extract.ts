/**
 * Streaming extraction of conda packages (`.tar.bz2`: the `bzip2` CLI piped into a tar reader;
 * `.conda`: yauzl's zip directory, then zstd (zstd-decoder.ts) → the tar reader), refusing
 * anything a hostile archive could use to write outside the package or exhaust the disk. Nothing
 * is trusted: every member name is normalised and checked, links are resolved against the
 * archive's own entries, sizes are counted as they stream, and the destination is a fresh folder
 * that is deleted again on any failure, so the caller only ever renames a complete, checked tree
 * into place.
 *
 * The hot path is synchronous: stored `.conda` members are read with readSync, decompressed into
 * one reused buffer and parsed by a push-style tar reader (tar-parse.ts) that writes each file
 * as its bytes arrive. Only the bzip2 child's output and deflated zip members arrive as streams;
 * their chunks go through the same synchronous path. Run it off the main thread (extract-pool.ts).
 */
import { spawn } from "node:child_process";
// Entries are written with synchronous calls: microseconds each, where a promise round trip per
// open/write/chmod/close made extraction of many small files some 30 times slower than tar.
import { chmodSync, closeSync, constants, fchmodSync, linkSync, mkdirSync, openSync, readSync, symlinkSync, writeSync } from "node:fs";
import { chmod, mkdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import yauzl from "yauzl";
import type { Entry as ZipEntry, ZipFile } from "yauzl";
import { InfraError, InputError, isCondaopsError } from "../../errors.ts";
import { TarParser } from "./tar-parse.ts";
import type { TarMember, TarSink } from "./tar-parse.ts";
import { createZstdStream } from "./zstd-decoder.ts";

export interface ExtractLimits {
  /** Bytes the whole archive may unpack to (tar headers included). Default 8 GiB. */
  maxTotalBytes?: number;
  /** Unpacked bytes per archive byte, enforced beyond a 16 MiB allowance. Default 1000. */
  maxRatio?: number;
  /** Tar members (files, links, directories). Default 1,000,000. */
  maxEntries?: number;
}

export interface ExtractStats {
  /** Regular files written (hard links not included). */
  files: number;
  symlinks: number;
  hardlinks: number;
  /** Bytes of regular-file content written. */
  bytes: number;
}

export const DEFAULT_EXTRACT_LIMITS: Required<ExtractLimits> = { maxTotalBytes: 8 * 1024 ** 3, maxRatio: 1000, maxEntries: 1_000_000 };
/** Small archives may always unpack to this much, whatever their ratio. */
const RATIO_ALLOWANCE = 16 * 1024 ** 2;
/** How far the decompressed stream may run ahead of the tar parser (and so past the budget). */
const STREAM_SLACK = 4 * 1024 ** 2;
const MAX_SYMLINK_HOPS = 40;
const MAX_ZIP_MEMBERS = 64;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

type Kind = "file" | "dir" | "symlink";

/** One extraction: the tree built so far (authoritative, since `dest` is fresh and ours), the byte budget, stats. */
class Extraction implements TarSink {
  readonly entries = new Map<string, Kind>();
  readonly symlinks = new Map<string, string>();
  readonly stats: ExtractStats = { files: 0, symlinks: 0, hardlinks: 0, bytes: 0 };
  /** Decompressed bytes seen (tar headers included), and content bytes the entries declared. */
  unpacked = 0;
  declared = 0;
  members = 0;
  /** The file being written, while its body streams in. */
  private out: { fd: number; mode: number } | undefined;

  constructor(
    readonly archive: string,
    readonly dest: string,
    readonly budget: number,
    readonly limits: Required<ExtractLimits>,
    readonly archiveSize: number,
  ) {}

  refuse(code: string, what: string, hint?: string): InputError {
    return new InputError(code, `${this.archive}: ${what}: refused`, { hint: hint ?? "the package is malformed or malicious; do not install it" });
  }

  overBudget(where: string): InputError {
    return this.refuse(
      "package.too-large",
      `${where} unpacks to more than ${mib(this.budget)} (archive of ${mib(this.archiveSize)}; limits: ${mib(this.limits.maxTotalBytes)} in all, ${this.limits.maxRatio}:1 ratio)`,
      "a decompression bomb, or a package larger than the extraction limits allow (raise them in the configuration if it is genuine)",
    );
  }

  /**
   * Counts decompressed bytes (headers and padding too) as they stream and aborts once they pass
   * the budget by more than the read-ahead; file contents are held to the budget exactly, at their headers.
   */
  count(bytes: number, member: string): void {
    this.unpacked += bytes;
    if (this.unpacked > this.budget + Math.min(this.budget, STREAM_SLACK)) throw this.overBudget(member);
  }

  /** A tar reader writing members into this extraction; `member` names the stream in errors. */
  reader(member: string): { write(chunk: Buffer): void; end(): void } {
    const parser = new TarParser(this);
    return {
      write: (chunk) => {
        this.count(chunk.length, member);
        parser.write(chunk);
      },
      end: () => parser.end(),
    };
  }

  /** Closes the file being written, if any (after a failure). */
  abort(): void {
    const out = this.out;
    this.out = undefined;
    try {
      if (out) closeSync(out.fd);
    } catch {
      // the failure being reported matters more
    }
  }

  /** `a/./b/` → `a/b`; refuses absolute paths and `..`. Returns "" for the root itself. */
  normalise(name: string): string {
    const shown = `entry ${JSON.stringify(name)}`;
    if (name.includes("\0")) throw this.refuse("package.unsafe-path", `${shown} contains a NUL byte`);
    if (name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name)) throw this.refuse("package.unsafe-path", `${shown} is an absolute path`);
    const parts = name.split("/").filter((s) => s !== "" && s !== ".");
    if (parts.includes("..")) throw this.refuse("package.unsafe-path", `${shown} has a ".." segment`);
    return parts.join("/");
  }

  /** Creates the parent folders of `rel`, refusing to go through anything but folders this archive made. */
  parents(rel: string, shown: string): void {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      const kind = this.entries.get(p);
      if (kind === "dir") continue;
      if (kind) throw this.refuse("package.unsafe-path", `entry ${JSON.stringify(shown)} would be written through the ${kind} ${JSON.stringify(p)}`);
      mkdirOnce(join(this.dest, p));
      this.entries.set(p, "dir");
    }
  }

  claim(rel: string, kind: Kind, shown: string): void {
    const had = this.entries.get(rel);
    if (had === "dir" && kind === "dir") return;
    if (had) throw this.refuse("package.duplicate", `entry ${JSON.stringify(shown)} appears twice in the archive (or clashes with a ${had} of the same name)`);
    this.entries.set(rel, kind);
  }

  /** Whether a symlink at `rel` to `target` stays inside the package, following the archive's own symlinks on the way. */
  resolves(rel: string, target: string): boolean {
    if (target.startsWith("/")) return false;
    const stack = rel.split("/").slice(0, -1);
    let pending = target.split("/");
    let hops = 0;
    while (pending.length) {
      const seg = pending.shift() as string;
      if (seg === "" || seg === ".") continue;
      if (seg === "..") {
        if (!stack.length) return false;
        stack.pop();
        continue;
      }
      stack.push(seg);
      const next = this.symlinks.get(stack.join("/"));
      if (next === undefined) continue;
      // A loop never resolves, for the kernel either (ELOOP): harmless.
      if (++hops > MAX_SYMLINK_HOPS) return true;
      if (next.startsWith("/")) return false;
      stack.pop();
      pending = [...next.split("/"), ...pending];
    }
    return true;
  }

  /** Checks one member and creates what it names; true when its body is to be written (a file). */
  entry(header: TarMember): boolean {
    const shown = header.name;
    const type = header.type ?? "file";
    const size = header.size;
    if (++this.members > this.limits.maxEntries) throw this.refuse("package.too-large", `more than ${this.limits.maxEntries} entries`);
    // Checked on the declared size, before a byte of it is written: a bomb fails at its header.
    this.declared += size;
    if (this.declared > this.budget) throw this.overBudget(`entry ${JSON.stringify(shown)}`);
    const rel = this.normalise(shown);
    switch (type) {
      case "directory": {
        if (rel === "") return false;
        this.parents(rel, shown);
        this.claim(rel, "dir", shown);
        mkdirOnce(join(this.dest, rel));
        return false;
      }
      case "file":
      case "contiguous-file": {
        if (rel === "") throw this.refuse("package.unsafe-path", `a file entry named ${JSON.stringify(shown)}`);
        this.parents(rel, shown);
        this.claim(rel, "file", shown);
        const mode = (header.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
        try {
          this.out = { fd: openSync(join(this.dest, rel), WRITE_FLAGS, mode), mode };
        } catch (e) {
          throw (e as NodeJS.ErrnoException).code === "EEXIST" ? this.refuse("package.duplicate", `entry ${JSON.stringify(shown)} clashes with an earlier entry`) : e;
        }
        return true;
      }
      case "symlink": {
        const target = header.linkname ?? "";
        if (rel === "" || target === "") throw this.refuse("package.unsafe-link", `symlink ${JSON.stringify(shown)} has no name or no target`);
        if (target.includes("\0") || !this.resolves(rel, target)) {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a symlink to ${JSON.stringify(target)}, outside the package`);
        }
        this.parents(rel, shown);
        this.claim(rel, "symlink", shown);
        this.symlinks.set(rel, target);
        symlinkSync(target, join(this.dest, rel));
        this.stats.symlinks++;
        return false;
      }
      case "link": {
        const raw = header.linkname ?? "";
        let target: string;
        try {
          target = this.normalise(raw);
        } catch {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a hard link to ${JSON.stringify(raw)}, outside the package`);
        }
        if (rel === "") throw this.refuse("package.unsafe-path", `a hard link entry named ${JSON.stringify(shown)}`);
        if (this.entries.get(target) !== "file") {
          throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(shown)} is a hard link to ${JSON.stringify(raw)}, which is not a file earlier in the package`);
        }
        this.parents(rel, shown);
        this.claim(rel, "file", shown);
        linkSync(join(this.dest, target), join(this.dest, rel));
        this.stats.hardlinks++;
        return false;
      }
      default:
        throw this.refuse("package.unsafe-type", `entry ${JSON.stringify(shown)} is a ${type}; a package holds only files, folders and links`);
    }
  }

  /** Bytes of the file being written. */
  data(chunk: Buffer): void {
    const fd = (this.out as { fd: number }).fd;
    for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
    this.stats.bytes += chunk.length;
  }

  /** The file's body is complete. */
  end(): void {
    const out = this.out as { fd: number; mode: number };
    this.out = undefined;
    try {
      fchmodSync(out.fd, out.mode);
    } finally {
      closeSync(out.fd);
    }
    this.stats.files++;
  }

  /** Symlinks are checked again once every entry is known: a later symlink can change where an earlier one leads. */
  checkLinks(): void {
    for (const [rel, target] of this.symlinks) {
      if (!this.resolves(rel, target)) throw this.refuse("package.unsafe-link", `entry ${JSON.stringify(rel)} is a symlink to ${JSON.stringify(target)}, which leads outside the package through other symlinks`);
    }
  }

}

function mkdirOnce(path: string): void {
  try {
    mkdirSync(path, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    return;
  }
  chmodSync(path, 0o755);
}

const CONTENT_ERRNOS = new Set(["ENAMETOOLONG", "ENOTDIR", "EISDIR", "ELOOP", "EEXIST", "EINVAL", "EILSEQ"]);

/** An operating-system error (ENOSPC, EACCES…), as opposed to a format error from a decoder. */
const isSystemError = (e: unknown): boolean => typeof (e as NodeJS.ErrnoException | undefined)?.syscall === "string";

const mib = (n: number): string => (n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

async function extractTarBz2(x: Extraction): Promise<void> {
  let stderr = "";
  // bzip2 opens the archive itself: handing it our descriptor raced with descriptor reuse.
  const child = spawn("bzip2", ["-dc", "--", x.archive], { stdio: ["ignore", "pipe", "pipe"] });
  // Listeners before any await: a small archive's bzip2 can be done by then.
  child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", (e) => reject(new InfraError("tool.missing", "bzip2 is needed to unpack .tar.bz2 packages", { hint: "install bzip2", cause: e })));
    child.on("close", (code) => resolve(code));
  });
  exited.catch(() => undefined);
  try {
    const tar = x.reader(basename(x.archive));
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) tar.write(chunk);
    tar.end();
  } catch (e) {
    child.kill("SIGKILL");
    const code = await exited.catch((err: unknown) => err);
    if (code instanceof InfraError) throw code;
    // A truncated stream shows as a tar error; bzip2's own message says more.
    if (!isCondaopsError(e) && stderr.trim()) throw x.refuse("package.corrupt", `bzip2 cannot decompress it (${stderr.trim().split("\n")[0]})`, "the archive is truncated or corrupt; delete it and download it again");
    throw e;
  }
  const code = await exited;
  if (code !== 0) throw x.refuse("package.corrupt", `bzip2 cannot decompress it (${stderr.trim().split("\n")[0] || `exit ${code}`})`, "the archive is truncated or corrupt; delete it and download it again");
}

/** A zstd-compressed tar member of a .conda, decoded into the extraction as its bytes are written. */
function zstdTar(x: Extraction, member: string): { write(chunk: Buffer): void; end(): void } {
  const tar = x.reader(member);
  // Each decoded piece goes to the tar reader before the next is made: a bomb costs no memory.
  const z = createZstdStream((chunk) => tar.write(chunk));
  return {
    write: (chunk) => z.write(chunk),
    end: () => {
      z.end();
      tar.end();
    },
  };
}

/** Where a zip member's data starts (after its local header), checked to lie inside the file, as yauzl checks it. */
function memberDataStart(fd: number, entry: ZipEntry, fileSize: number): number {
  const header = Buffer.alloc(30);
  if (readSync(fd, header, 0, 30, entry.relativeOffsetOfLocalHeader) !== 30) throw new Error("unexpected EOF in a local file header");
  const signature = header.readUInt32LE(0);
  if (signature !== 0x04034b50) throw new Error(`invalid local file header signature: 0x${signature.toString(16)}`);
  const start = entry.relativeOffsetOfLocalHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + entry.compressedSize > fileSize) throw new Error(`file data overflows file bounds: ${start} + ${entry.compressedSize} > ${fileSize}`);
  return start;
}

/** A stored member, read synchronously in 256 KiB pieces through one buffer. */
function readStored(fd: number, start: number, size: number, into: { write(chunk: Buffer): void; end(): void }): void {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(size, 1 << 18)));
  for (let pos = start, left = size; left > 0; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, left), pos);
    if (n === 0) throw new Error("unexpected end of the archive");
    pos += n;
    left -= n;
    into.write(buf.subarray(0, n));
  }
  into.end();
}

async function extractConda(x: Extraction): Promise<void> {
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(x.archive, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true, decodeStrings: true });
  } catch (e) {
    throw x.refuse("package.corrupt", `not a readable .conda (zip) archive (${(e as Error).message})`, "the archive is truncated or corrupt; delete it and download it again");
  }
  let fd: number | undefined;
  try {
    const seen = new Set<string>();
    let info = false;
    let pkg = false;
    for await (const entry of zip.eachEntry() as AsyncIterable<ZipEntry>) {
      const name = entry.fileName;
      if (seen.has(name)) throw x.refuse("package.duplicate", `zip member ${JSON.stringify(name)} appears twice`);
      seen.add(name);
      if (seen.size > MAX_ZIP_MEMBERS) throw x.refuse("package.format", `more than ${MAX_ZIP_MEMBERS} zip members; a .conda has three`);
      if (name.includes("/") || name.includes("\\") || name.split(/[/\\]/).includes("..")) throw x.refuse("package.unsafe-path", `zip member ${JSON.stringify(name)} is not a plain file name`);
      if (entry.isEncrypted()) throw x.refuse("package.format", `zip member ${JSON.stringify(name)} is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
        throw x.refuse("package.format", `zip member ${JSON.stringify(name)} uses compression method ${entry.compressionMethod}; conda packages use only stored or deflated members`);
      }
      const isInfo = /^info-.+\.tar\.zst$/.test(name);
      const isPkg = /^pkg-.+\.tar\.zst$/.test(name);
      if (!isInfo && !isPkg) {
        if (entry.uncompressedSize > 1 << 20) throw x.refuse("package.format", `unexpected zip member ${JSON.stringify(name)} of ${mib(entry.uncompressedSize)}`);
        continue; // metadata.json and anything else small: not part of the package tree
      }
      if (entry.uncompressedSize > x.budget) throw x.overBudget(`zip member ${JSON.stringify(name)}`);
      if (isInfo) info = true;
      else pkg = true;
      // Stored members (what conda writes) are read here, synchronously; deflated ones through yauzl.
      let stored: number | undefined;
      let stream: Readable | undefined;
      if (entry.compressionMethod === 0) {
        fd ??= openSync(x.archive, "r");
        stored = memberDataStart(fd, entry, x.archiveSize);
      } else {
        stream = await zip.openReadStreamPromise(entry);
      }
      try {
        const tar = zstdTar(x, name);
        if (stream) {
          for await (const chunk of stream as AsyncIterable<Buffer>) tar.write(chunk);
          tar.end();
        } else {
          readStored(fd as number, stored as number, entry.compressedSize, tar);
        }
      } catch (e) {
        if (isCondaopsError(e) || isSystemError(e)) throw e;
        throw x.refuse("package.corrupt", `zip member ${JSON.stringify(name)} does not decompress (${(e as Error).message})`, "the archive is truncated or corrupt; delete it and download it again");
      }
    }
    if (!info || !pkg) throw x.refuse("package.format", `no ${info ? "pkg" : "info"}-*.tar.zst member: not a conda v2 package`);
  } catch (e) {
    if (isCondaopsError(e) || isSystemError(e)) throw e;
    throw x.refuse("package.corrupt", `the zip structure is damaged (${(e as Error).message})`, "the archive is truncated or corrupt; delete it and download it again");
  } finally {
    zip.close();
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Extracts `.conda` or `.tar.bz2` `archivePath` into `dest`, which must not exist yet (its parent
 * is created) and is deleted again when anything fails: hand it a temporary sibling and rename it
 * into place afterwards. Files are written 0644, or 0755 when any executable bit was set; setuid,
 * setgid and sticky bits, owners and times are not kept. Rejects with InputError (naming the
 * archive and the entry) for unsafe, malformed or oversized archives, InfraError for disk trouble.
 */
export async function extractArchive(archivePath: string, dest: string, limits: ExtractLimits = {}): Promise<ExtractStats> {
  const lim: Required<ExtractLimits> = { ...DEFAULT_EXTRACT_LIMITS, ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)) };
  const isConda = archivePath.endsWith(".conda");
  if (!isConda && !archivePath.endsWith(".tar.bz2")) throw new InputError("package.format", `${archivePath}: not a .conda or .tar.bz2 package`);
  let size: number;
  try {
    size = (await stat(archivePath)).size;
  } catch (e) {
    throw new InfraError("package.read", `cannot read ${archivePath}: ${(e as Error).message}`, { cause: e });
  }
  const budget = Math.min(lim.maxTotalBytes, Math.max(lim.maxRatio * size, RATIO_ALLOWANCE));
  const x = new Extraction(archivePath, dest, budget, lim, size);
  try {
    await mkdir(dirname(dest), { recursive: true });
    // 0700 while we write, so nobody else can plant anything in it; opened up at the end.
    await mkdir(dest, { mode: 0o700 });
  } catch (e) {
    throw new InfraError("package.write", `cannot create ${dest}: ${(e as Error).message}`, { hint: "check permissions of the package cache", cause: e });
  }
  try {
    await (isConda ? extractConda(x) : extractTarBz2(x));
    x.checkLinks();
    await chmod(dest, 0o755);
    return x.stats;
  } catch (e) {
    x.abort();
    await rm(dest, { recursive: true, force: true, maxRetries: 3 });
    if (isCondaopsError(e)) throw e;
    const err = e as NodeJS.ErrnoException;
    // Errors the archive's own names cause (too long, not a folder…) are the archive's fault.
    if (isSystemError(e) && CONTENT_ERRNOS.has(err.code ?? "")) throw x.refuse("package.unsafe-path", `an entry cannot be created (${err.message.replace(dest, "<package>")})`);
    if (isSystemError(e)) throw new InfraError("package.write", `cannot extract ${archivePath} into ${dest}: ${err.message}`, { hint: "check free space and permissions of the package cache", cause: e });
    throw x.refuse("package.corrupt", `it does not unpack (${err.message})`, "the archive is truncated or corrupt; delete it and download it again");
  }
}
