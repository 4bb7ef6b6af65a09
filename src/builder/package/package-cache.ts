/**
 * The package cache, laid out like conda's pkgs dir so conda, mamba and pixi users recognise it:
 * `<root>/pkgs/<filename>` (the verified archive) and `<root>/pkgs/<name>-<version>-<build>/`
 * (extracted, with `info/repodata_record.json`). An extracted folder only ever appears by rename
 * of a complete temp folder whose repodata_record.json was written last, so its record proves it
 * whole; one whose record's sha256 is the lock's is used without touching the network or a lock.
 * Everything else happens under the package's cache lock (cache-lock.ts), so parallel builds on
 * one machine or several download and extract each package once. Leftovers of crashed processes
 * (`.part` downloads, temp folders, dead locks) are resumed, swept or broken.
 */
import { randomBytes } from "node:crypto";
// The bookkeeping around each package (records, renames, leftovers) is done with synchronous
// calls: each costs microseconds, where a promise round trip through the thread pool costs some
// 50-100 µs of this thread's time, times a dozen calls per package. fsync stays asynchronous.
import { closeSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { ChannelCredential } from "../../config/types.ts";
import { InfraError, InputError } from "../../errors.ts";
import { redactUrl } from "../channels/redact.ts";
import type { ExtractedPackage, FetchProgress, PackageCache } from "../install/types.ts";
import type { LockedPackage } from "../lock/types.ts";
import { acquireLock } from "./cache-lock.ts";
import type { HeldLock, LockOptions } from "./cache-lock.ts";
import { digestMismatch, downloadPackage, fileDigest } from "./download.ts";
import { extractArchive } from "./extract.ts";
import type { ExtractLimits } from "./extract.ts";
import { extractPool } from "./extract-pool.ts";

export interface PackageCacheOptions {
  /** The cache folder (`<cacheDir>`); packages go to `<root>/pkgs/`. */
  root: string;
  credentials?: ChannelCredential[];
  /** Download attempts for transient failures. Default 4. */
  attempts?: number;
  /** Abort a download after this long without data. Default 60 s. */
  timeoutMs?: number;
  limits?: ExtractLimits;
  /** Worker threads that extract archives (shared by the process). Default: one per available core; 0 extracts in this thread. */
  extractWorkers?: number;
  /** Cache lock tuning (stale and wait times). */
  lock?: LockOptions;
  log?(line: string): void;
  fetch?: typeof fetch;
}

/** Leftovers older than this are swept whoever left them. */
const SWEEP_AGE_MS = 60 * 60_000;
const PART_SWEEP_AGE_MS = 7 * 24 * 60 * 60_000;
const RECORD = join("info", "repodata_record.json");

/** What conda writes as info/repodata_record.json: index.json's fields, then the channel's. */
export function repodataRecord(pkg: LockedPackage, index: Record<string, unknown>, size: number): Record<string, unknown> {
  const fromIndex = Object.fromEntries(["arch", "platform", "features", "track_features", "license_family", "noarch"].filter((k) => typeof index[k] === "string").map((k) => [k, index[k]]));
  const r: Record<string, unknown> = {
    ...fromIndex,
    name: pkg.name,
    version: pkg.version,
    build: pkg.build,
    build_number: pkg.buildNumber,
    channel: redactUrl(pkg.channel),
    subdir: pkg.subdir,
    url: redactUrl(pkg.url),
    fn: pkg.filename,
    md5: pkg.md5,
    sha256: pkg.sha256,
    size: pkg.size ?? size,
    depends: pkg.depends,
    constrains: pkg.constrains,
    license: pkg.license,
    timestamp: pkg.timestamp,
    noarch: pkg.noarch ?? fromIndex.noarch,
  };
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== "").sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Names from a lock end up as paths: nothing but a plain file name is accepted. */
function checkNames(pkg: LockedPackage): void {
  const plain = (s: string): boolean => s !== "" && s !== "." && s !== ".." && !s.startsWith(".") && !/[/\\\0]/.test(s);
  const stem = `${pkg.name}-${pkg.version}-${pkg.build}`;
  if (!plain(stem) || !plain(pkg.filename) || !/\.(conda|tar\.bz2)$/.test(pkg.filename)) {
    throw new InputError("package.name", `the lock names a package ${JSON.stringify(pkg.filename)} (${JSON.stringify(stem)}) that is not a plain .conda or .tar.bz2 file name`, { hint: "the lock is malformed; lock the environment again" });
  }
  if (!pkg.sha256 && !pkg.md5) throw new InputError("package.checksum", `the lock has neither a sha256 nor an md5 for ${pkg.filename}`, { hint: "lock the environment again" });
}

/** The record the folder holds, when it belongs to exactly this package (same archive digest). */
function validEntry(dir: string, pkg: LockedPackage): boolean {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(readFileSync(join(dir, RECORD), "utf8")) as Record<string, unknown>;
  } catch {
    return false;
  }
  if (record.name !== pkg.name || record.version !== pkg.version || record.build !== pkg.build) return false;
  return pkg.sha256 ? record.sha256 === pkg.sha256 : !!pkg.md5 && record.md5 === pkg.md5;
}

/** The package's own info/index.json (a small JSON object), or {} when it has none worth reading. */
function readIndex(path: string): Record<string, unknown> {
  try {
    if (statSync(path).size > 1 << 20) return {};
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const tempSuffix = (): string => `${process.pid}-${randomBytes(4).toString("hex")}`;
const fsyncFd = promisify(fsync);

/**
 * Writes the record into the unpublished temp folder: no temp file and rename are needed there
 * (nobody reads that folder before the publishing rename), only the fsync.
 */
async function writeRecord(path: string, data: string): Promise<void> {
  const fd = openSync(path, "wx", 0o644);
  try {
    const bytes = Buffer.from(data);
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

export function createPackageCache(opts: PackageCacheOptions): PackageCache {
  const pkgs = resolve(opts.root, "pkgs");
  const log = opts.log;
  const pool = opts.extractWorkers === 0 ? undefined : extractPool(opts.extractWorkers, log);
  const inflight = new Map<string, Promise<ExtractedPackage>>();
  let swept = false;

  /** Removes leftovers of crashed processes that nobody can still be using. */
  function sweep(): void {
    const now = Date.now();
    let names: string[];
    try {
      names = readdirSync(pkgs);
    } catch {
      return;
    }
    for (const name of names) {
      const temp = /^\..+\.(extract|trash)-\d+-[0-9a-f]+$/.test(name) || /\.lock\.(tmp|broken)-[0-9a-f]+$/.test(name);
      const part = name.endsWith(".part");
      if (!temp && !part) continue;
      const st = statSync(join(pkgs, name), { throwIfNoEntry: false });
      if (st && now - st.mtimeMs > (part ? PART_SWEEP_AGE_MS : SWEEP_AGE_MS)) {
        log?.(`removing the leftover ${join(pkgs, name)}`);
        rmSync(join(pkgs, name), { recursive: true, force: true });
      }
    }
  }

  /** Puts the complete temp folder at `dir`, moving aside whatever is there. */
  function publish(tmp: string, dir: string, stem: string, pkg: LockedPackage): void {
    try {
      renameSync(tmp, dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") throw e;
    }
    if (validEntry(dir, pkg)) {
      rmSync(tmp, { recursive: true, force: true });
      return;
    }
    // An older extraction of another archive with the same name-version-build: replace it.
    const trash = join(pkgs, `.${stem}.trash-${tempSuffix()}`);
    renameSync(dir, trash);
    renameSync(tmp, dir);
    rmSync(trash, { recursive: true, force: true });
  }

  async function fetchAndExtract(pkg: LockedPackage, progress?: FetchProgress): Promise<ExtractedPackage> {
    const stem = `${pkg.name}-${pkg.version}-${pkg.build}`;
    const dir = join(pkgs, stem);
    const archive = join(pkgs, pkg.filename);
    const done = (): ExtractedPackage => ({ dir, record: pkg, archive });
    if (validEntry(dir, pkg)) return done();

    let lock: HeldLock | undefined;
    try {
      mkdirSync(pkgs, { recursive: true });
      if (!swept) {
        swept = true;
        try {
          sweep();
        } catch {
          // best effort: leftovers are harmless
        }
      }
      lock = await acquireLock(join(pkgs, `${stem}.lock`), { log, ...opts.lock });
      if (validEntry(dir, pkg)) return done();
      // We hold the lock: any temp folder of this package is a crashed process's.
      for (const name of readdirSync(pkgs)) {
        if (name.startsWith(`.${stem}.extract-`) || name.startsWith(`.${stem}.trash-`)) rmSync(join(pkgs, name), { recursive: true, force: true });
      }
      pool?.warm(1);
      const expected = { sha256: pkg.sha256 || undefined, md5: pkg.md5 || undefined, size: pkg.size };
      let size: number | undefined;
      const existing = statSync(archive, { throwIfNoEntry: false });
      if (existing?.isFile()) {
        const got = await fileDigest(archive);
        const bad = digestMismatch(got, expected);
        if (bad) {
          log?.(`${archive}: ${bad}; downloading it again`);
          unlinkSync(archive);
        } else {
          size = got.size;
        }
      }
      if (size === undefined) {
        const started = Date.now();
        const got = await downloadPackage(pkg.url, archive, expected, {
          credentials: opts.credentials,
          attempts: opts.attempts,
          timeoutMs: opts.timeoutMs,
          fetch: opts.fetch,
          log,
          onBytes: progress?.onBytes,
        });
        size = got.size;
        log?.(`downloaded ${redactUrl(pkg.url)} (${got.size} bytes${got.resumedFrom ? `, resumed at ${got.resumedFrom}` : ""}) in ${Date.now() - started} ms`);
      }

      const tmp = join(pkgs, `.${stem}.extract-${tempSuffix()}`);
      try {
        const stats = await (pool ? pool.extract(archive, tmp, opts.limits) : extractArchive(archive, tmp, opts.limits));
        const index = readIndex(join(tmp, "info", "index.json"));
        // The package says what it is: a lock entry naming it otherwise (a blocked package under a
        // harmless name) is refused, whatever its checksum.
        for (const [field, want] of [["name", pkg.name], ["version", pkg.version], ["build", pkg.build]] as const) {
          const got = index[field];
          if (typeof got === "string" && got !== want) {
            throw new InputError("package.mismatch", `${pkg.filename} is ${field} "${got}" by its own info/index.json, but the lock says "${want}"`, { hint: "the lock does not describe this package; make it again with condaops lock" });
          }
        }
        mkdirSync(join(tmp, "info"), { recursive: true });
        rmSync(join(tmp, RECORD), { force: true });
        // Written last: its presence in a published folder proves the folder complete.
        await writeRecord(join(tmp, RECORD), JSON.stringify(repodataRecord(pkg, index, size), null, 2) + "\n");
        publish(tmp, dir, stem, pkg);
        log?.(`extracted ${pkg.filename}: ${stats.files} files, ${stats.bytes} bytes`);
      } catch (e) {
        rmSync(tmp, { recursive: true, force: true });
        // A refused archive is not kept either: nothing of it stays in the cache.
        if (e instanceof InputError) rmSync(archive, { force: true });
        throw e;
      }
      return done();
    } catch (e) {
      if (e instanceof InputError || e instanceof InfraError) throw e;
      throw new InfraError("cache.write", `package cache ${pkgs}: ${(e as Error).message}`, { hint: "check free space and permissions of the package cache", cause: e });
    } finally {
      await lock?.release();
    }
  }

  return {
    root: pkgs,
    async ensure(pkg, progress) {
      checkNames(pkg);
      const key = `${pkg.name}-${pkg.version}-${pkg.build}\0${pkg.sha256 || pkg.md5}`;
      let p = inflight.get(key);
      if (!p) {
        p = fetchAndExtract(pkg, progress).finally(() => inflight.delete(key));
        inflight.set(key, p);
      }
      return await p;
    },
  };
}
