/**
 * A synchronous, push-style tar reader: `write()` takes the decompressed stream in chunks of any
 * size and calls the sink for every member as soon as its header is complete, then with its body
 * in pieces. Nothing is buffered but a partial 512-byte header and GNU/pax long headers (at most
 * 4 MiB), and no chunk is kept after `write()` returns, so a caller may reuse its buffers. It reads
 * the formats tar-stream reads, the way it reads them (ustar with its name prefix, GNU and old GNU,
 * GNU long names and link names, pax `path`/`linkpath`/`size` with global pax headers merged into
 * the next per-file one, base-256 sizes, zero blocks skipped, v7 headers refused), so the checks
 * of extract.ts see the same members. Entries are only described here: deciding what is safe
 * to create is the sink's job.
 */

export type TarType = "file" | "link" | "symlink" | "character-device" | "block-device" | "directory" | "fifo" | "contiguous-file";

export interface TarMember {
  name: string;
  /** null for a typeflag tar does not define (tar-stream's behaviour: the caller decides). */
  type: TarType | null;
  /** Body bytes that follow the header. */
  size: number;
  mode: number;
  linkname: string | null;
}

export interface TarSink {
  /** A member; returns true to be handed its body (then `end()` follows it, even when empty). */
  entry(member: TarMember): boolean;
  data(chunk: Buffer): void;
  end(): void;
}

const BLOCK = 512;
const MAX_LONG_HEADER = 4 * 1024 * 1024;
const USTAR_MAGIC = Buffer.from("ustar\0", "latin1");
const GNU_MAGIC = Buffer.from("ustar ", "latin1");
const GNU_VERSION = Buffer.from(" \0", "latin1");

type LongKind = "gnu-long-path" | "gnu-long-link-path" | "pax-header" | "pax-global-header";

function typeOf(flag: number): TarType | LongKind | null {
  switch (flag) {
    case 0:
      return "file";
    case 1:
      return "link";
    case 2:
      return "symlink";
    case 3:
      return "character-device";
    case 4:
      return "block-device";
    case 5:
      return "directory";
    case 6:
      return "fifo";
    case 7:
      return "contiguous-file";
    case 72:
      return "pax-header";
    case 55:
      return "pax-global-header";
    case 27:
      return "gnu-long-link-path";
    case 28:
    case 30:
      return "gnu-long-path";
    default:
      return null;
  }
}

const isLong = (t: TarType | LongKind | null): t is LongKind => t === "gnu-long-path" || t === "gnu-long-link-path" || t === "pax-header" || t === "pax-global-header";

/** Bytes of padding after a body of `size` bytes. */
const padding = (size: number): number => (size % BLOCK === 0 ? 0 : BLOCK - (size % BLOCK));

function indexOf(buf: Buffer, byte: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (buf[i] === byte) return i;
  return end;
}

/** A NUL-terminated UTF-8 string field. */
const str = (buf: Buffer, off: number, len: number): string => buf.toString("utf8", off, indexOf(buf, 0, off, off + len));

function parse256(buf: Buffer, off: number, len: number): number {
  const positive = buf[off] === 0x80;
  if (!positive && buf[off] !== 0xff) return Number.NaN;
  let sum = 0;
  for (let i = off + len - 1, scale = 1; i > off; i--, scale *= 256) sum += (positive ? (buf[i] as number) : 0xff - (buf[i] as number)) * scale;
  return positive ? sum : -sum;
}

/** An octal number field (leading spaces and NULs skipped, ends at a space), or base-256 when its high bit is set. */
function octal(buf: Buffer, off: number, len: number): number {
  if ((buf[off] as number) & 0x80) return parse256(buf, off, len);
  let start = off;
  const end = off + len;
  while (start < end && buf[start] === 32) start++;
  const stop = indexOf(buf, 32, start, end);
  while (start < stop && buf[start] === 0) start++;
  if (stop === start) return 0;
  return Number.parseInt(buf.toString("latin1", start, stop), 8);
}

function checksum(buf: Buffer, off: number): number {
  let sum = 8 * 32;
  for (let i = off; i < off + 148; i++) sum += buf[i] as number;
  for (let i = off + 156; i < off + BLOCK; i++) sum += buf[i] as number;
  return sum;
}

/** pax records (`<length> <key>=<value>\n`), as tar-stream decodes them. */
function decodePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = buf;
  while (rest.length) {
    let i = 0;
    while (i < rest.length && rest[i] !== 32) i++;
    const len = Number.parseInt(rest.toString("utf8", 0, i), 10);
    if (!len) return out;
    const record = rest.toString("utf8", i + 1, len - 1);
    const eq = record.indexOf("=");
    if (eq === -1) return out;
    out[record.slice(0, eq)] = record.slice(eq + 1);
    rest = rest.subarray(len);
  }
  return out;
}

export class TarParser {
  private readonly partial = Buffer.alloc(BLOCK);
  private have = 0;
  private state: "header" | "body" | "long" | "skip" = "header";
  /** Bytes left of the current body, long header or padding. */
  private left = 0;
  private pad = 0;
  private wanted = false;
  private long: { kind: LongKind; buf: Buffer; have: number } | undefined;
  private pax: Record<string, string> | null = null;
  private paxGlobal: Record<string, string> | null = null;
  private gnuLongPath: string | null = null;
  private gnuLongLinkPath: string | null = null;

  constructor(private readonly sink: TarSink) {}

  write(chunk: Buffer): void {
    let off = 0;
    const len = chunk.length;
    while (off < len) {
      switch (this.state) {
        case "header": {
          if (this.have === 0 && len - off >= BLOCK) {
            this.header(chunk, off);
            off += BLOCK;
          } else {
            const take = Math.min(BLOCK - this.have, len - off);
            chunk.copy(this.partial, this.have, off, off + take);
            this.have += take;
            off += take;
            if (this.have === BLOCK) {
              this.have = 0;
              this.header(this.partial, 0);
            }
          }
          break;
        }
        case "body": {
          const take = Math.min(this.left, len - off);
          if (this.wanted) this.sink.data(chunk.subarray(off, off + take));
          off += take;
          this.left -= take;
          if (this.left === 0) {
            if (this.wanted) this.sink.end();
            this.skipPadding();
          }
          break;
        }
        case "long": {
          const long = this.long as { kind: LongKind; buf: Buffer; have: number };
          const take = Math.min(this.left, len - off);
          chunk.copy(long.buf, long.have, off, off + take);
          long.have += take;
          off += take;
          this.left -= take;
          if (this.left === 0) this.longDone();
          break;
        }
        case "skip": {
          const take = Math.min(this.left, len - off);
          off += take;
          this.left -= take;
          if (this.left === 0) this.state = "header";
          break;
        }
      }
    }
  }

  /** The stream is over: throws when it stops inside a header, a body or its padding. */
  end(): void {
    if (this.state !== "header" || this.have !== 0) throw new Error("Unexpected end of data");
  }

  private skipPadding(): void {
    this.left = this.pad;
    this.state = this.pad ? "skip" : "header";
  }

  private header(buf: Buffer, off: number): void {
    const sum = checksum(buf, off);
    if (sum === 8 * 32) return; // an all-zero block (end of archive, padding): skipped
    if (sum !== octal(buf, off + 148, 8)) throw new Error("Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?");
    const flag = buf[off + 156] === 0 ? 0 : (buf[off + 156] as number) - 48;
    let name = str(buf, off, 100);
    if (buf.compare(USTAR_MAGIC, 0, 6, off + 257, off + 263) === 0) {
      if (buf[off + 345]) name = `${str(buf, off + 345, 155)}/${name}`;
    } else if (!(buf.compare(GNU_MAGIC, 0, 6, off + 257, off + 263) === 0 && buf.compare(GNU_VERSION, 0, 2, off + 263, off + 265) === 0)) {
      throw new Error("Invalid tar header: unknown format.");
    }
    let type = typeOf(flag);
    // Old tars mark folders with a trailing slash only.
    if (flag === 0 && name.endsWith("/")) type = "directory";
    let size = octal(buf, off + 124, 12);

    if (isLong(type)) {
      if (size > MAX_LONG_HEADER) throw new Error("Header exceeds max size");
      if (!(size >= 0)) throw new Error("Invalid header");
      this.long = { kind: type, buf: Buffer.alloc(size), have: 0 };
      this.pad = padding(size);
      this.left = size;
      if (size === 0) this.longDone();
      else this.state = "long";
      return;
    }

    let linkname = buf[off + 157] === 0 ? null : str(buf, off + 157, 100);
    if (this.gnuLongPath !== null) {
      name = this.gnuLongPath;
      this.gnuLongPath = null;
    }
    if (this.gnuLongLinkPath !== null) {
      linkname = this.gnuLongLinkPath;
      this.gnuLongLinkPath = null;
    }
    if (this.pax) {
      if (this.pax.path) name = this.pax.path;
      if (this.pax.linkpath) linkname = this.pax.linkpath;
      if (this.pax.size) size = Number.parseInt(this.pax.size, 10);
      this.pax = null;
    }
    if (!(size >= 0)) throw new Error("Invalid header");

    const member: TarMember = { name, type, size, mode: octal(buf, off + 100, 8), linkname };
    this.wanted = this.sink.entry(member);
    this.pad = padding(size);
    this.left = size;
    if (size === 0) {
      if (this.wanted) this.sink.end();
      this.state = "header";
    } else {
      this.state = "body";
    }
  }

  private longDone(): void {
    const long = this.long as { kind: LongKind; buf: Buffer; have: number };
    this.long = undefined;
    switch (long.kind) {
      case "gnu-long-path":
        this.gnuLongPath = str(long.buf, 0, long.buf.length);
        break;
      case "gnu-long-link-path":
        this.gnuLongLinkPath = str(long.buf, 0, long.buf.length);
        break;
      case "pax-global-header":
        this.paxGlobal = decodePax(long.buf);
        break;
      case "pax-header":
        this.pax = this.paxGlobal === null ? decodePax(long.buf) : { ...this.paxGlobal, ...decodePax(long.buf) };
        break;
    }
    this.skipPadding();
  }
}
