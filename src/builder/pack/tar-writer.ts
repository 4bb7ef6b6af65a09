/**
 * A deterministic tar writer (POSIX ustar, with pax extended headers where ustar cannot say it:
 * long or non-ASCII names and link targets, files of 8 GiB and more). The pack needs every header
 * byte to be a function of the entry alone (owner 0:0, no user or group names, no access times,
 * no device numbers) so that two packs of one prefix are identical, and it streams file bodies in
 * chunks with the output's backpressure respected, so a prefix of many gigabytes never sits in
 * memory. tar-stream could write such headers too, but its streamx streams and its pax encoding
 * (names only) give less control over every byte than these hundred lines.
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import { InfraError } from "../../errors.ts";

const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);
/** Largest size an 11-digit octal field holds. */
const MAX_OCTAL_SIZE = 0o77777777777;

export interface TarEntryHeader {
  /** Relative POSIX path, without a leading "./"; directories without a trailing slash. */
  path: string;
  /** Permission bits (0o7777 is kept). */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
}

const isPlainAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

function octal(value: number, width: number): string {
  // `width - 1` digits then NUL, as GNU tar writes them.
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** `"<len> key=value\n"`, where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bodyLength = Buffer.byteLength(body);
  let length = bodyLength + 1;
  while (String(length).length + bodyLength !== length) length = String(length).length + bodyLength;
  return Buffer.from(`${length}${body}`);
}

/** Splits a name into ustar's `prefix` (155) and `name` (100) fields, or undefined when it cannot. */
function ustarName(path: string): { name: string; prefix: string } | undefined {
  if (!isPlainAscii(path)) return undefined;
  if (path.length <= 100) return { name: path, prefix: "" };
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (prefix.length <= 155 && name.length > 0 && name.length <= 100) return { name, prefix };
  }
  return undefined;
}

/** A stand-in for a name that only the pax header carries (readers without pax see it). */
function fallbackName(path: string): string {
  const ascii = path.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= 100 ? ascii : ascii.slice(ascii.length - 100);
}

function header(fields: { name: string; prefix: string; mode: number; size: number; mtime: number; type: string; linkname: string }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(fields.name, 0, 100, "utf8");
  b.write(octal(fields.mode & 0o7777, 8), 100, "ascii");
  b.write(octal(0, 8), 108, "ascii"); // uid
  b.write(octal(0, 8), 116, "ascii"); // gid
  if (fields.size <= MAX_OCTAL_SIZE) {
    b.write(octal(fields.size, 12), 124, "ascii");
  } else {
    // GNU base-256 for sizes beyond 8 GiB (the pax `size` record says it too).
    b[124] = 0x80;
    let n = fields.size;
    for (let i = 135; i > 124; i--) {
      b[i] = n % 256;
      n = Math.floor(n / 256);
    }
  }
  b.write(octal(Math.max(0, Math.floor(fields.mtime)), 12), 136, "ascii");
  b.write("        ", 148, "ascii"); // checksum placeholder
  b.write(fields.type, 156, "ascii");
  b.write(fields.linkname, 157, 100, "utf8");
  b.write("ustar\0", 257, "ascii");
  b.write("00", 263, "ascii");
  b.write(octal(0, 8), 329, "ascii"); // devmajor
  b.write(octal(0, 8), 337, "ascii"); // devminor
  b.write(fields.prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return b;
}

/** Small pieces (headers, padding, small files) are gathered up to this size before they go out. */
const BATCH = 256 * 1024;

export class TarWriter {
  private written = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** `out` must not be written by anyone else; the writer hands it buffers it never reuses. */
  constructor(private readonly out: Writable) {}

  /** Bytes of tar written so far (before compression). */
  get size(): number {
    return this.written;
  }

  // Every write to a compressor is a round trip through the thread pool: headers and small files
  // one by one would cost more than compressing them.
  private async write(data: Buffer): Promise<void> {
    this.written += data.length;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= BATCH) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const data = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out.write(data)) await once(this.out, "drain");
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.write(ZEROS.subarray(0, BLOCK - rest));
  }

  private async entryHeader(e: TarEntryHeader, type: string, size: number, linkname = ""): Promise<void> {
    const path = type === "5" ? `${e.path}/` : e.path;
    const split = ustarName(path);
    const records: Buffer[] = [];
    if (!split) records.push(paxRecord("path", path));
    const linkFits = isPlainAscii(linkname) && linkname.length <= 100;
    if (!linkFits) records.push(paxRecord("linkpath", linkname));
    if (size > MAX_OCTAL_SIZE) records.push(paxRecord("size", String(size)));
    if (records.length > 0) {
      const body = Buffer.concat(records);
      const paxName = fallbackName(`PaxHeaders/${path.slice(path.lastIndexOf("/", path.length - 2) + 1)}`);
      await this.write(header({ name: paxName, prefix: "", mode: 0o644, size: body.length, mtime: e.mtime, type: "x", linkname: "" }));
      await this.write(body);
      await this.pad(body.length);
    }
    const names = split ?? { name: fallbackName(path), prefix: "" };
    await this.write(header({ ...names, mode: e.mode, size, mtime: e.mtime, type, linkname: linkFits ? linkname : fallbackName(linkname) }));
  }

  async directory(e: TarEntryHeader): Promise<void> {
    await this.entryHeader(e, "5", 0);
  }

  async symlink(e: TarEntryHeader, target: string): Promise<void> {
    await this.entryHeader(e, "2", 0, target);
  }

  /** A regular file whose whole content is at hand. */
  async file(e: TarEntryHeader, data: Buffer): Promise<void> {
    await this.entryHeader(e, "0", data.length);
    await this.write(data);
    await this.pad(data.length);
  }

  /**
   * A regular file of `size` bytes whose content comes in chunks from `read` (a chunk of length 0
   * means the end). Fails when the chunks do not add up to `size` (the file changed meanwhile).
   */
  async fileFrom(e: TarEntryHeader, size: number, read: () => Buffer): Promise<void> {
    await this.entryHeader(e, "0", size);
    let got = 0;
    while (got < size) {
      const chunk = read();
      if (chunk.length === 0) break;
      const take = chunk.length > size - got ? chunk.subarray(0, size - got) : chunk;
      got += take.length;
      await this.write(take);
    }
    if (got !== size) throw new InfraError("pack.file-changed", `${e.path} changed while it was packed (${got} bytes read, ${size} expected)`, { hint: "nothing may write into a built prefix; pack it again" });
    await this.pad(size);
  }

  /** The end-of-archive marker (two zero blocks). The caller ends the output stream. */
  async finish(): Promise<void> {
    await this.write(ZEROS);
    await this.flush();
  }
}
