/**
 * Reproducible tar output for image layers and layout archives: the same entries give the same
 * bytes on any machine and at any time. Every entry has mtime 0 (the Unix epoch, as
 * SOURCE_DATE_EPOCH=0 builds and Nix/ko images do), uid and gid 0 with empty user and group
 * names, and the mode it is given; the caller adds entries in a fixed order. Entries are written
 * one at a time with backpressure, so a file of any size streams through without being held in
 * memory.
 */
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { pack } from "tar-stream";
import type { Header, Pack } from "tar-stream";

type Headers = Partial<Header> & Pick<Header, "name">;
type Sink = ReturnType<Pack["entry"]>;

/** The modification time of every entry. */
export const TAR_MTIME = new Date(0);

export class TarWriter {
  private readonly pack: Pack = pack();

  /** The archive's bytes; pipe it somewhere before adding entries. */
  get stream(): Readable {
    // tar-stream's streamx Readable works wherever node's pipeline takes a Readable.
    return this.pack as unknown as Readable;
  }

  private header(name: string, type: Headers["type"], mode: number, extra: Partial<Headers> = {}): Headers {
    return { name, type, mode, mtime: TAR_MTIME, uid: 0, gid: 0, uname: "", gname: "", ...extra };
  }

  private add(header: Headers, data?: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) this.pack.entry(header, cb);
      else this.pack.entry(header, data, cb);
    });
  }

  /** A directory; `name` without its trailing slash. */
  async directory(name: string, mode: number): Promise<void> {
    await this.add(this.header(`${name}/`, "directory", mode));
  }

  async symlink(name: string, target: string): Promise<void> {
    await this.add(this.header(name, "symlink", 0o777, { linkname: target }));
  }

  async file(name: string, mode: number, data: Buffer): Promise<void> {
    await this.add(this.header(name, "file", mode, { size: data.length }), data);
  }

  /** A regular file streamed from `path`, which must still be `size` bytes long. */
  async fileFrom(name: string, mode: number, path: string, size: number): Promise<void> {
    let sink!: Sink;
    const done = new Promise<void>((resolve, reject) => {
      sink = this.pack.entry(this.header(name, "file", mode, { size }), (err) => (err ? reject(err) : resolve()));
    });
    let written = 0;
    if (size > 0) {
      for await (const chunk of createReadStream(path, { start: 0, end: size - 1 }) as AsyncIterable<Buffer>) {
        written += chunk.length;
        if (!sink.write(chunk)) await Promise.race([new Promise<void>((resolve) => sink.once("drain", () => resolve())), done]);
      }
    }
    if (written !== size) {
      const err = new Error(`${path} changed while it was archived (${written} bytes instead of ${size})`);
      sink.destroy(err);
      throw err;
    }
    sink.end(null);
    await done;
  }

  /** Writes the end-of-archive marker. */
  finish(): void {
    this.pack.finalize();
  }

  abort(err: Error): void {
    this.pack.destroy(err);
  }
}
