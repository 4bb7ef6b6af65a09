/**
 * Object storage in a local folder (the default backend): key `a/b/c` is the file `<root>/a/b/c`.
 *
 * - Objects appear atomically: `put` and `writer` write `.<file>.tmp-<random>` /
 *   `.<file>.partial-<random>` next to the final file, fsync, then rename into place. A process
 *   killed mid-write leaves only such a file, which `list` skips and keys cannot name.
 * - Nothing outside the folder is ever read, written or deleted: keys are checked with
 *   `checkObjectKey`, and every folder on the way is resolved with `realpath` and must stay
 *   inside the (real) root, so a symlink planted under the root that points elsewhere is refused
 *   (InfraError `storage.escape`) rather than followed. Symlinks that stay inside are allowed.
 * - Failures of the filesystem are InfraError `storage.io` naming the key and the path.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Hash } from "node:crypto";
import { lstat, mkdir, open, readdir, realpath, rename, rm, rmdir, stat, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { InfraError, InputError, isCondaopsError } from "../errors.ts";
import { checkObjectKey, checkObjectPrefix } from "./object-key.ts";
import { orderedAppends, toBuffer } from "./ordered-appends.ts";
import type { BlobStorage, ObjectInfo, ObjectWriter, StoredObject } from "./storage.ts";

/** Names this backend uses for files being written; keys may not name them and `list` skips them. */
const INTERNAL = /^\..*\.(?:tmp|partial)-[0-9a-f]+$/;

const ERRNO_WORDS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EIO: "input/output error",
  ENOTDIR: "a path component is not a folder",
  EISDIR: "it is a folder",
  EMFILE: "too many open files",
  ENAMETOOLONG: "name too long",
  ELOOP: "too many levels of symbolic links",
};

function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

/** `path` strictly inside (or, with `orEqual`, equal to) `dir`; both absolute and normalised. */
function isInside(path: string, dir: string, orEqual = false): boolean {
  const r = relative(dir, path);
  if (r === "") return orEqual;
  return !isAbsolute(r) && r !== ".." && !r.startsWith(`..${sep}`);
}

const randomSuffix = (): string => randomBytes(6).toString("hex");

export function createLocalStorage(root: string): BlobStorage {
  const base = resolve(root);

  function ioError(action: string, key: string | undefined, path: string, e: unknown): InfraError {
    if (isCondaopsError(e) && e instanceof InfraError) return e;
    const code = errnoOf(e);
    const why = code ? `${ERRNO_WORDS[code] ?? (e instanceof Error ? e.message : String(e))}${ERRNO_WORDS[code] ? ` (${code})` : ""}` : String(e);
    const what = key === undefined ? action : `${action} object ${key}`;
    const hint =
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `check that the user running condaops can write to the storage folder ${base}`
        : code === "ENOSPC" || code === "EDQUOT"
          ? `free space on the filesystem of ${base}`
          : undefined;
    return new InfraError("storage.io", `cannot ${what} at ${path} in storage ${base}: ${why}`, { cause: e, hint });
  }

  function escape(key: string, path: string, real: string): InfraError {
    return new InfraError("storage.escape", `refusing object ${key}: ${path} resolves to ${real}, outside the storage folder ${base}`, {
      hint: `remove the symlink ${path}; the storage folder must not link elsewhere`,
    });
  }

  function conflict(key: string, path: string, what: string): InputError {
    return new InputError("storage.key", `cannot store object ${key}: ${path} ${what}`, {
      hint: "a key cannot be both an object and a folder of other objects in local storage",
    });
  }

  /** The segments of a checked key; keys may not name this backend's temporary files. */
  function segmentsOf(key: string): string[] {
    const segments = checkObjectKey(key);
    const internal = segments.find((s) => INTERNAL.test(s));
    if (internal !== undefined) {
      throw new InputError("storage.key", `invalid object key ${JSON.stringify(key)}: the segment "${internal}" is reserved for files being written`);
    }
    return segments;
  }

  let realBase: string | undefined;
  /** The root's real path; `create` makes the folder when it does not exist yet. */
  async function realRoot(create: boolean): Promise<string | undefined> {
    if (realBase !== undefined) return realBase;
    try {
      if (create) await mkdir(base, { recursive: true });
      realBase = await realpath(base);
      return realBase;
    } catch (e) {
      if (!create && errnoOf(e) === "ENOENT") return undefined;
      throw ioError("open the storage folder", undefined, base, e);
    }
  }

  /**
   * Resolves the folders of `segments` one by one (never trusting a symlink that leaves the root)
   * and returns the real folder. With `create`, missing folders are made; without, a missing folder
   * gives undefined.
   */
  async function resolveDir(key: string, segments: readonly string[], create: boolean): Promise<string | undefined> {
    const rootReal = await realRoot(create);
    if (rootReal === undefined) return undefined;
    let dir = rootReal;
    let logical = base;
    for (const segment of segments) {
      logical = join(logical, segment);
      const next = join(dir, segment);
      for (let attempt = 0; ; attempt++) {
        let info;
        try {
          info = await lstat(next);
        } catch (e) {
          if (errnoOf(e) !== "ENOENT") throw ioError("reach", key, logical, e);
          if (!create) return undefined;
          try {
            await mkdir(next);
          } catch (e2) {
            if (errnoOf(e2) === "EEXIST" && attempt < 3) continue; // made concurrently: look again
            throw ioError("create the folder for", key, logical, e2);
          }
          dir = next;
          break;
        }
        if (info.isSymbolicLink()) {
          let real: string;
          try {
            real = await realpath(next);
          } catch (e) {
            if (errnoOf(e) === "ENOENT" && !create) return undefined;
            throw ioError("reach", key, logical, e);
          }
          if (!isInside(real, rootReal, true)) throw escape(key, logical, real);
          const target = await stat(real).catch((e: unknown) => {
            throw ioError("reach", key, logical, e);
          });
          if (!target.isDirectory()) {
            if (create) throw conflict(key, logical, "is an object, not a folder");
            return undefined;
          }
          dir = real;
        } else if (info.isDirectory()) {
          dir = next;
        } else {
          if (create) throw conflict(key, logical, "is an object, not a folder");
          return undefined;
        }
        break;
      }
    }
    return dir;
  }

  /** The real path of an existing object file, or undefined (absent, or a folder). */
  async function resolveFile(key: string): Promise<{ path: string; logical: string } | undefined> {
    const segments = segmentsOf(key);
    const dir = await resolveDir(key, segments.slice(0, -1), false);
    if (dir === undefined) return undefined;
    const logical = join(base, ...segments);
    const candidate = join(dir, segments[segments.length - 1] as string);
    let real: string;
    try {
      real = await realpath(candidate);
    } catch (e) {
      if (errnoOf(e) === "ENOENT" || errnoOf(e) === "ENOTDIR") return undefined;
      throw ioError("reach", key, logical, e);
    }
    const rootReal = realBase as string;
    if (!isInside(real, rootReal)) throw escape(key, logical, real);
    return { path: real, logical };
  }

  function missing(key: string): InfraError {
    return new InfraError("storage.missing", `object ${key} does not exist in storage ${base}`, {
      hint: "it was never stored, or retention removed it",
    });
  }

  /** Opens an existing object for reading (regular files only). */
  async function openObject(key: string): Promise<{ fh: FileHandle; path: string; size: number }> {
    const found = await resolveFile(key);
    if (found === undefined) throw missing(key);
    let fh: FileHandle;
    try {
      fh = await open(found.path, "r");
    } catch (e) {
      if (errnoOf(e) === "ENOENT") throw missing(key);
      throw ioError("read", key, found.logical, e);
    }
    try {
      const info = await fh.stat();
      if (!info.isFile()) throw missing(key);
      return { fh, path: found.logical, size: info.size };
    } catch (e) {
      await fh.close().catch(() => undefined);
      if (isCondaopsError(e)) throw e;
      throw ioError("read", key, found.logical, e);
    }
  }

  async function fsyncDir(dir: string): Promise<void> {
    try {
      const fh = await open(dir, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch {
      // Some filesystems cannot fsync a folder; the rename is still atomic.
    }
  }

  /** A temp file next to where the object goes, open for writing, plus what finishing it needs. */
  interface Pending {
    fh: FileHandle;
    tmp: string;
    final: string;
    dir: string;
    logical: string;
  }

  async function startFile(key: string, kind: "tmp" | "partial"): Promise<Pending> {
    const segments = segmentsOf(key);
    const name = segments[segments.length - 1] as string;
    const logical = join(base, ...segments);
    for (let attempt = 0; ; attempt++) {
      const dir = (await resolveDir(key, segments.slice(0, -1), true)) as string;
      const tmp = join(dir, `.${name}.${kind}-${randomSuffix()}`);
      try {
        const fh = await open(tmp, "wx", 0o644);
        return { fh, tmp, final: join(dir, name), dir, logical };
      } catch (e) {
        // A concurrent delete may have removed the (then empty) folder between mkdir and open.
        if (errnoOf(e) === "ENOENT" && attempt < 3) continue;
        throw ioError("write", key, logical, e);
      }
    }
  }

  async function writeAll(p: Pending, key: string, data: Buffer): Promise<void> {
    let offset = 0;
    try {
      while (offset < data.length) {
        const { bytesWritten } = await p.fh.write(data, offset, data.length - offset, null);
        offset += bytesWritten;
      }
    } catch (e) {
      throw ioError("write", key, p.logical, e);
    }
  }

  async function commit(p: Pending, key: string): Promise<void> {
    try {
      await p.fh.sync();
    } catch (e) {
      throw ioError("write", key, p.logical, e);
    } finally {
      await p.fh.close().catch(() => undefined);
    }
    const existing = await lstat(p.final).catch(() => undefined);
    if (existing?.isDirectory()) throw conflict(key, p.logical, "is a folder of other objects");
    try {
      await rename(p.tmp, p.final);
    } catch (e) {
      throw ioError("write", key, p.logical, e);
    }
    await fsyncDir(p.dir);
  }

  async function discard(p: Pending): Promise<void> {
    await p.fh.close().catch(() => undefined);
    await rm(p.tmp, { force: true }).catch(() => undefined);
  }

  return {
    location: base,

    async put(key: string, body: Buffer | string | Readable): Promise<StoredObject> {
      const p = await startFile(key, "tmp");
      const hash: Hash = createHash("sha256");
      let size = 0;
      try {
        if (body instanceof Readable) {
          for await (const chunk of body) {
            const data = toBuffer(chunk);
            hash.update(data);
            size += data.length;
            await writeAll(p, key, data);
          }
        } else {
          const data = toBuffer(body);
          hash.update(data);
          size = data.length;
          await writeAll(p, key, data);
        }
        await commit(p, key);
      } catch (e) {
        await discard(p);
        throw e;
      }
      return { key, size, sha256: hash.digest("hex") };
    },

    async salvage(key: string): Promise<StoredObject | undefined> {
      const segments = segmentsOf(key);
      const name = segments[segments.length - 1] as string;
      const dir = await resolveDir(key, segments.slice(0, -1), false);
      if (dir === undefined) return undefined;
      const stem = `.${name}.partial-`;
      const partials: { path: string; size: number }[] = [];
      for (const entry of await readdir(dir).catch(() => [] as string[])) {
        if (!entry.startsWith(stem) || !INTERNAL.test(entry)) continue;
        const st = await lstat(join(dir, entry)).catch(() => undefined);
        if (st?.isFile()) partials.push({ path: join(dir, entry), size: st.size });
      }
      if (partials.length === 0) return undefined;
      const final = join(dir, name);
      if (await lstat(final).catch(() => undefined)) return undefined; // never over a finished object
      // The longest is the one that got furthest; the others are older attempts' leftovers.
      partials.sort((a, b) => b.size - a.size);
      const [keep, ...rest] = partials as [{ path: string; size: number }, ...{ path: string; size: number }[]];
      const hash = createHash("sha256");
      for await (const chunk of createReadStream(keep.path)) hash.update(chunk as Buffer);
      try {
        await rename(keep.path, final);
      } catch (e) {
        throw ioError("write", key, join(base, ...segments), e);
      }
      for (const r of rest) await rm(r.path, { force: true });
      await fsyncDir(dir);
      return { key, size: keep.size, sha256: hash.digest("hex") };
    },

    async writer(key: string): Promise<ObjectWriter> {
      const p = await startFile(key, "partial");
      // Straight to the open file.
      const appends = orderedAppends((data) => writeAll(p, key, data));
      let state: "open" | "finished" | "aborted" = "open";
      const closed = (op: string): Error => new Error(`cannot ${op} object ${key}: its writer is already ${state}`);
      return {
        write(chunk: Buffer | string): Promise<void> {
          if (state !== "open") return Promise.reject(closed("write to"));
          return appends.append(chunk);
        },
        async finish(): Promise<StoredObject> {
          if (state !== "open") throw closed("finish");
          state = "finished";
          try {
            const written = await appends.settle();
            await commit(p, key);
            return { key, ...written };
          } catch (e) {
            await discard(p);
            throw e;
          }
        },
        async abort(): Promise<void> {
          if (state !== "open") return;
          state = "aborted";
          await appends.settle().catch(() => undefined);
          await discard(p);
        },
      };
    },

    async get(key: string): Promise<Readable> {
      const { fh, path } = await openObject(key);
      const source = fh.createReadStream({ autoClose: true });
      const out = new PassThrough();
      source.on("error", (e) => out.destroy(ioError("read", key, path, e)));
      out.on("close", () => source.destroy());
      source.pipe(out);
      return out;
    },

    async getBuffer(key: string): Promise<Buffer> {
      const { fh, path } = await openObject(key);
      try {
        return await fh.readFile();
      } catch (e) {
        throw ioError("read", key, path, e);
      } finally {
        await fh.close().catch(() => undefined);
      }
    },

    async stat(key: string): Promise<ObjectInfo | undefined> {
      const found = await resolveFile(key);
      if (found === undefined) return undefined;
      try {
        const info = await stat(found.path);
        return info.isFile() ? { key, size: info.size, modified: info.mtime } : undefined;
      } catch (e) {
        if (errnoOf(e) === "ENOENT") return undefined;
        throw ioError("stat", key, found.logical, e);
      }
    },

    async list(prefix: string): Promise<ObjectInfo[]> {
      checkObjectPrefix(prefix);
      // The folder every matching key lies in: the prefix up to its last "/".
      const folder = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
      const folderSegments = folder === "" ? [] : folder.split("/");
      const start = await resolveDir(prefix, folderSegments, false);
      if (start === undefined) return [];
      const out: ObjectInfo[] = [];
      const walk = async (dir: string, keyPrefix: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch (e) {
          if (errnoOf(e) === "ENOENT") return; // removed while listing
          throw ioError("list", undefined, join(base, keyPrefix), e);
        }
        for (const entry of entries) {
          if (INTERNAL.test(entry.name)) continue;
          const key = keyPrefix === "" ? entry.name : `${keyPrefix}/${entry.name}`;
          // Only what could still match: a folder whose key is a prefix of `prefix`, or which starts with it.
          if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
          const path = join(dir, entry.name);
          if (entry.isDirectory()) {
            await walk(path, key);
          } else if (entry.isFile()) {
            try {
              const info = await stat(path);
              out.push({ key, size: info.size, modified: info.mtime });
            } catch (e) {
              if (errnoOf(e) !== "ENOENT") throw ioError("list", key, join(base, key), e);
            }
          }
          // Symlinks are not followed: this backend never makes them, and they could leave the root or loop.
        }
      };
      await walk(start, folder);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async delete(key: string): Promise<void> {
      const segments = segmentsOf(key);
      const dir = await resolveDir(key, segments.slice(0, -1), false);
      if (dir === undefined) return;
      const logical = join(base, ...segments);
      const path = join(dir, segments[segments.length - 1] as string);
      try {
        const info = await lstat(path);
        if (info.isDirectory()) return; // a folder of other objects, not an object
        await unlink(path); // removes a symlink itself, never what it points to
      } catch (e) {
        if (errnoOf(e) === "ENOENT") return;
        throw ioError("delete", key, logical, e);
      }
      // Remove the folders this left empty, deepest first, never the root. rmdir does not follow symlinks.
      for (let n = segments.length - 1; n > 0; n--) {
        try {
          await rmdir(join(base, ...segments.slice(0, n)));
        } catch {
          break; // not empty (or in use by a concurrent put): stop
        }
      }
    },

    async downloadUrl(key: string): Promise<string> {
      const segments = segmentsOf(key);
      return pathToFileURL(join(base, ...segments)).href;
    },
  };
}
