/**
 * The one tar writer of condaops, for the relocatable pack (pack/pack-archive.ts) and the OCI
 * image's layer and layout archive (oci/layer.ts, oci/image-layout.ts). Every header byte is a
 * function of the entry alone: owner 0:0 without user or group names, the given permission bits
 * (mode 0 included), the given mtime (default 0, the epoch), no access times or device numbers.
 * Same entries in the same order, same bytes, on any machine and at any time.
 *
 * Built on tar-stream (pax, base-256 sizes, backpressure, body size checks) rather than by hand, with
 * its defaults overridden where they fall short: pax forced for control or non-ASCII characters,
 * sizes of 8 GiB+ and mtimes after 2038; file type bits in `mode`, so mode 0 is not read as unset.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { Transform } from "node:stream";
import type { Readable, TransformCallback, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pack } from "tar-stream";
import type { Header, Pack } from "tar-stream";
import { InfraError } from "../../errors.ts";

export interface TarEntry {
  /** Relative POSIX path, without a leading "./"; a directory without its trailing slash. */
  path: string;
  /** Permission bits (0o7777 is kept, anything above ignored). */
  mode: number;
  /** Seconds since the epoch (negative ones are written as 0). Default 0. */
  mtime?: number;
}

type EntryType = "file" | "directory" | "symlink";
type EntryHeader = Partial<Header> & Pick<Header, "name">;
type Sink = ReturnType<Pack["entry"]>;

/** Largest size an 11-digit octal field holds (8 GiB - 1); larger ones go base-256 plus a pax record. */
const MAX_OCTAL_SIZE = 0o77777777777;
/** tar-stream writes mtimes as int32 seconds: later ones saturate, the pax record carries the truth. */
const MAX_INT32_MTIME = 0x7fffffff;
/** tar-stream takes mode 0 for "unset" and writes 0644; with the file type bits it is never 0, and it keeps only 0o7777. */
const TYPE_BITS: Record<EntryType, number> = { file: 0o100000, directory: 0o040000, symlink: 0o120000 };
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Small pieces (headers, padding, small files) are gathered up to this size before they go out. */
const BATCH = 256 * 1024;
/** Chunk size of `fileChunks`. */
const CHUNK = 1 << 20;

const noop = (): void => undefined;

/** The file at `path` did not have the size it was announced with. */
export function fileChanged(path: string, got: number, expected: number): InfraError {
  return new InfraError("archive.file-changed", `${path} changed while it was archived (${got} bytes read, ${expected} expected)`, {
    hint: "nothing may write into a folder while it is archived; try again",
  });
}

/**
 * The first `size` bytes of the file at `path`, in chunks of at most 1 MiB read synchronously (a
 * promise round trip per read costs more than the read), each a new buffer (the output may still
 * hold the last one). Ends early when the file is shorter.
 */
export function* fileChunks(path: string, size: number): Generator<Buffer, void, undefined> {
  if (size <= 0) return;
  const fd = openSync(path, "r");
  try {
    for (let left = size; left > 0; ) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, left));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) return;
      left -= n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Gathers small chunks into BATCH-sized ones: every write to a compressor is a round trip through
 * the thread pool, which headers and small files one by one would spend more time on than on
 * compressing them. Big chunks pass through uncopied.
 */
class Batcher extends Transform {
  private pending: Buffer[] = [];
  private bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, cb: TransformCallback): void {
    if (this.bytes === 0 && chunk.length >= BATCH) {
      cb(null, chunk);
      return;
    }
    this.pending.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes >= BATCH) this.release();
    cb();
  }

  override _flush(cb: TransformCallback): void {
    this.release();
    cb();
  }

  private release(): void {
    if (this.bytes === 0) return;
    this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.bytes));
    this.pending = [];
    this.bytes = 0;
  }
}

/** Adds entries, one at a time (await each before the next); `writeTar` hands one out. */
export class TarWriter {
  constructor(private readonly pack: Pack) {}

  private header(e: TarEntry, type: EntryType, size: number, linkname?: string): EntryHeader {
    const name = type === "directory" ? `${e.path}/` : e.path;
    const mtime = Math.max(0, Math.floor(e.mtime ?? 0));
    const pax: Record<string, string> = {};
    if (size > MAX_OCTAL_SIZE) pax.size = String(size);
    if (mtime > MAX_INT32_MTIME) pax.mtime = String(mtime);
    // tar-stream on its own uses pax for names that are too long or not ASCII, and link targets
    // that are too long; a pax header it writes always carries `path` (and `linkpath`).
    const forcePax = Object.keys(pax).length > 0 || !PRINTABLE_ASCII.test(name) || (linkname !== undefined && !PRINTABLE_ASCII.test(linkname));
    return {
      name,
      type,
      mode: TYPE_BITS[type] | (e.mode & 0o7777),
      size,
      mtime: new Date(mtime * 1000),
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
      ...(linkname !== undefined ? { linkname } : {}),
      ...(forcePax ? { pax } : {}),
    };
  }

  /** Starts an entry; `done` settles when tar-stream is through with it (never unhandled). */
  private entry(header: EntryHeader, data?: Buffer): { sink: Sink; done: Promise<void> } {
    let settle: (err?: Error | null) => void = noop;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    done.catch(noop);
    const sink = data === undefined ? this.pack.entry(header, settle) : this.pack.entry(header, data, settle);
    // A sink torn down with the archive emits its error too; `done` already carries it.
    sink.on("error", noop);
    return { sink, done };
  }

  async directory(e: TarEntry): Promise<void> {
    await this.entry(this.header(e, "directory", 0)).done;
  }

  async symlink(e: TarEntry, target: string): Promise<void> {
    await this.entry(this.header(e, "symlink", 0, target)).done;
  }

  /** A regular file whose whole content is at hand. */
  async file(e: TarEntry, data: Buffer): Promise<void> {
    await this.entry(this.header(e, "file", data.length), data).done;
  }

  /**
   * A regular file of `size` bytes whose content comes in `chunks` (`fileChunks`; not iterated at
   * all for size 0), written as the output takes it. Bytes past `size` are left out; fewer fail the entry (the file
   * changed meanwhile), and the archive with it.
   */
  async fileFrom(e: TarEntry, size: number, chunks: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<void> {
    const { sink, done } = this.entry(this.header(e, "file", size));
    let got = 0;
    if (size > 0) {
      for await (const chunk of chunks) {
        const take = chunk.length > size - got ? chunk.subarray(0, size - got) : chunk;
        got += take.length;
        if (!sink.write(take)) await Promise.race([new Promise<void>((resolve) => sink.once("drain", () => resolve())), done]);
        if (got === size) break;
      }
    }
    if (got !== size) throw fileChanged(e.path, got, size);
    sink.end(null);
    await done;
  }
}

/**
 * Writes a tar archive into `out` (a pipeline: compressors, hashers, then the destination; each
 * emits "close", as node's streams do) with the entries `fill` adds, then the end-of-archive
 * marker. Resolves with what `fill` returns once the last stream finished; rejects with the first
 * failure (of `fill` or of the output) once every stream is closed, so the caller may remove what
 * was written.
 */
export async function writeTar<T>(out: readonly Writable[], fill: (tar: TarWriter) => Promise<T>): Promise<T> {
  const archive = pack();
  // tar-stream's streamx Readable works wherever node's pipeline takes a Readable.
  const written = pipeline([archive as unknown as Readable, new Batcher(), ...out]);
  let cause: { error: unknown } | undefined;
  const filled = (async () => {
    try {
      const result = await fill(new TarWriter(archive));
      if (!archive.destroying) archive.finalize();
      return result;
    } catch (e) {
      // Unless the output failed first (and this is what it left behind), `fill`'s error is the cause.
      if (!archive.destroying) {
        cause = { error: e };
        archive.destroy(e instanceof Error ? e : new Error(String(e)));
      }
      throw e;
    }
  })();
  const [w, f] = await Promise.allSettled([written, filled]);
  // pipeline is done with a stream once it erred, but a file stream torn down while it opens
  // creates its file and closes only afterwards.
  await Promise.all(out.map((s) => (s.destroyed && !s.closed ? new Promise((resolve) => s.once("close", resolve)) : undefined)));
  if (cause) throw cause.error;
  if (w.status === "rejected") throw w.reason;
  if (f.status === "rejected") throw f.reason;
  return f.value;
}
