/**
 * Links one extracted package from the package cache into a prefix, as conda, mamba and rattler
 * do (rattler's `install/link.rs`): files with a prefix placeholder are copied and rewritten for
 * the final prefix; other files are reflinked where the filesystem can, else hard-linked when the
 * cache is on the same filesystem, else copied (`no_link` files are never hard-linked); softlinks
 * are recreated with their target; `noarch: python` paths go under the lock's python and get their
 * entry points. Files are written under `ctx.staging` (renamed to `ctx.prefix` by the caller), so
 * nothing here writes the final prefix's path except into file contents.
 *
 * Safety: a link target that resolves outside the prefix is refused, every parent directory is
 * checked to resolve inside the prefix before anything is written in it, and an existing file is
 * never overwritten unless it is identical (two packages shipping one path, "clobbering").
 */
import { createHash } from "node:crypto";
import { constants, createReadStream, existsSync } from "node:fs";
import { chmod, copyFile, link, lstat, mkdir, readFile, readlink, realpath, symlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { InfraError, InputError, isCondaopsError } from "../../errors.ts";
import { entryPointScript, noarchPythonPath, pythonExecutable } from "./noarch-python.ts";
import { readIndexJson, readLinkJson, readPackagePaths } from "./package-paths.ts";
import { rewritePrefix } from "./prefix-replace.ts";
import type { ExtractedPackage, LinkContext, LinkedPackage, PathEntry } from "./types.ts";

/** A conda-meta `paths_data` entry; `sha256_in_prefix` is what the file in the prefix hashes to (differs for patched files). */
export type LinkedPath = LinkedPackage["paths"][number];

type Method = "reflink" | "hardlink" | "copy" | "softlink" | "directory" | "kept";

const PARALLEL = 16;
/** Staging folders where reflink was tried and is not supported (one failed probe, not one per file). */
const noReflink = new Set<string>();

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  await pipeline(createReadStream(path), h);
  return h.digest("hex");
}

/** Runs `fn` over `items`, at most `limit` at once; on failure, waits for the running ones, then throws the first error. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

class Linker {
  readonly label: string;
  private readonly realDirs = new Map<string, Promise<string>>();

  constructor(
    private readonly pkg: ExtractedPackage,
    private readonly ctx: LinkContext,
    private readonly root: string,
  ) {
    const r = pkg.record;
    this.label = `${r.name}-${r.version}-${r.build}`;
  }

  private inside(real: string): boolean {
    return real === this.root || real.startsWith(this.root + sep);
  }

  private escape(target: string, why: string): InputError {
    return new InputError("install.path-escape", `${this.label}: ${target} ${why}, outside the prefix; refused`, { hint: "the package is malformed or hostile; nothing was written outside the prefix" });
  }

  private clobber(target: string): InputError {
    return new InputError("install.clobber", `${this.label} would overwrite ${target}, which another package of the environment already installed`, {
      hint: "two packages of the lock ship the same path with different contents; remove one of them from the spec",
    });
  }

  /**
   * Creates a directory (relative, POSIX) under the staging folder one level at a time, each level
   * inside its parent's real path and checked before anything is created in it (a symlink another
   * package left there must not lead out of the prefix). Returns its real path.
   */
  dir(rel: string): Promise<string> {
    if (rel === "." || rel === "") return Promise.resolve(this.root);
    let p = this.realDirs.get(rel);
    if (!p) {
      p = (async () => {
        const abs = join(await this.dir(posix.dirname(rel)), posix.basename(rel));
        try {
          await mkdir(abs);
        } catch (e) {
          if (code(e) === "ENOTDIR") throw this.clobber(rel);
          if (code(e) !== "EEXIST") throw e;
        }
        const real = await realpath(abs);
        if (!this.inside(real)) throw this.escape(rel, `resolves to ${real}`);
        if (!(await lstat(real)).isDirectory()) throw this.clobber(rel);
        return real;
      })();
      this.realDirs.set(rel, p);
    }
    return p;
  }

  /** Refuses a symlink target unless, resolved from the link's real directory (following existing links), it stays inside. */
  private async checkLinkTarget(target: string, linkTarget: string): Promise<void> {
    if (linkTarget === "" || isAbsolute(linkTarget)) throw this.escape(target, `links to ${JSON.stringify(linkTarget)}`);
    let cur = await this.dir(posix.dirname(target));
    let missing = false;
    for (const part of linkTarget.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        // Above a path that does not exist yet, where ".." lands depends on what is created there later.
        if (missing) throw this.escape(target, `links to ${JSON.stringify(linkTarget)}, which cannot be checked`);
        cur = dirname(cur);
      } else if (missing) {
        cur = join(cur, part);
      } else {
        try {
          cur = await realpath(join(cur, part));
        } catch {
          missing = true;
          cur = join(cur, part);
        }
      }
      if (!this.inside(cur)) throw this.escape(target, `links to ${JSON.stringify(linkTarget)}`);
    }
  }

  /** When `dest` exists: keeps it if identical to what would be written, else refuses. */
  private async existing(dest: string, target: string, content: { file: string } | { bytes: Buffer } | { link: string }): Promise<Method> {
    const st = await lstat(dest);
    let same = false;
    if ("link" in content) {
      same = st.isSymbolicLink() && (await readlink(dest)) === content.link;
    } else if (st.isFile()) {
      if ("bytes" in content) {
        same = st.size === content.bytes.length && (await readFile(dest)).equals(content.bytes);
      } else {
        const src = await lstat(content.file);
        same = (src.ino === st.ino && src.dev === st.dev) || (src.size === st.size && (await sha256File(content.file)) === (await sha256File(dest)));
      }
    }
    if (!same) throw this.clobber(target);
    this.ctx.log?.(`${this.label}: ${target} is already in the prefix with the same content; kept`);
    return "kept";
  }

  /** Writes new bytes (a patched file, an entry point) with `mode`, never replacing a different file. */
  async write(target: string, bytes: Buffer, mode: number): Promise<Method> {
    const dest = join(await this.dir(posix.dirname(target)), posix.basename(target));
    try {
      await writeFile(dest, bytes, { flag: "wx", mode });
    } catch (e) {
      if (code(e) === "EEXIST") return this.existing(dest, target, { bytes });
      throw e;
    }
    await chmod(dest, mode); // not left to the umask
    return "copy";
  }

  /** A regular file: reflink, else hard link (unless no_link or another filesystem), else copy. */
  async place(src: string, target: string, noLink: boolean): Promise<Method> {
    const dest = join(await this.dir(posix.dirname(target)), posix.basename(target));
    const staging = this.ctx.staging;
    if (!noReflink.has(staging)) {
      try {
        await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        return "reflink";
      } catch (e) {
        if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
        if (code(e) === "ENOENT") throw this.missing(target);
        noReflink.add(staging);
      }
    }
    if (!noLink && this.ctx.hardlinks) {
      try {
        await link(src, dest);
        return "hardlink";
      } catch (e) {
        if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
        if (code(e) === "ENOENT") throw this.missing(target);
        // EXDEV, EPERM, EMLINK...: copy this one
        this.ctx.log?.(`${this.label}: cannot hard-link ${target} (${code(e) ?? String(e)}); copying it`);
      }
    }
    try {
      await copyFile(src, dest, constants.COPYFILE_EXCL);
      return "copy";
    } catch (e) {
      if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
      if (code(e) === "ENOENT") throw this.missing(target);
      throw e;
    }
  }

  async softlink(src: string, target: string): Promise<Method> {
    let linkTarget: string;
    try {
      linkTarget = await readlink(src);
    } catch (e) {
      if (code(e) === "ENOENT") throw this.missing(target);
      if (code(e) === "EINVAL") throw new InputError("package.not-a-link", `${this.label}: ${target} is listed as a softlink but is not one in ${this.pkg.dir}`);
      throw e;
    }
    await this.checkLinkTarget(target, linkTarget);
    const dest = join(await this.dir(posix.dirname(target)), posix.basename(target));
    try {
      await symlink(linkTarget, dest);
    } catch (e) {
      if (code(e) === "EEXIST") return this.existing(dest, target, { link: linkTarget });
      throw e;
    }
    return "softlink";
  }

  missing(target: string): InputError {
    return new InputError("package.missing-file", `${this.label}: ${target} is listed in info/ but missing from ${this.pkg.dir}`, {
      hint: `the archive is incomplete or the cache entry was damaged; remove ${this.pkg.dir} and install again`,
    });
  }

  /** Links one entry of the package to `target` (its path in the prefix) and describes it for conda-meta. */
  async entry(e: PathEntry, target: string): Promise<{ path: LinkedPath; method: Method }> {
    const src = join(this.pkg.dir, e.path);
    const path: LinkedPath = { _path: target, path_type: e.type };
    if (e.sha256) path.sha256 = e.sha256;
    if (e.size !== undefined) path.size_in_bytes = e.size;
    if (e.noLink) path.no_link = true;
    let method: Method;
    if (e.type === "directory") {
      await this.dir(target);
      method = "directory";
    } else if (e.type === "softlink") {
      method = await this.softlink(src, target);
    } else if (e.prefixPlaceholder) {
      let st;
      let data: Buffer;
      try {
        st = await lstat(src);
        if (!st.isFile()) throw new InputError("package.not-a-file", `${this.label}: ${e.path} carries a prefix placeholder but is not a regular file`);
        data = await readFile(src);
      } catch (err) {
        if (code(err) === "ENOENT") throw this.missing(target);
        throw err;
      }
      const mode = e.fileMode ?? "text";
      let out: Buffer;
      try {
        out = rewritePrefix(data, { placeholder: e.prefixPlaceholder, prefix: this.ctx.prefix, mode, platform: this.ctx.platform });
      } catch (err) {
        if (err instanceof InputError) throw new InputError(err.code, `${this.label}: ${target}: ${err.message}`, { ...(err.hint ? { hint: err.hint } : {}), cause: err });
        throw err;
      }
      Object.assign(path, { prefix_placeholder: e.prefixPlaceholder, file_mode: mode, sha256_in_prefix: sha256(out) });
      path.sha256 ??= sha256(data);
      path.size_in_bytes ??= data.length;
      method = await this.write(target, out, st.mode & 0o7777);
    } else {
      method = await this.place(src, target, e.noLink === true);
      if (e.sha256) path.sha256_in_prefix = e.sha256;
    }
    return { path, method };
  }
}

/** Links `pkg` into `ctx.staging` (rewritten for `ctx.prefix`) and returns what conda-meta records. */
export async function linkPackage(pkg: ExtractedPackage, ctx: LinkContext): Promise<LinkedPackage> {
  const entries = await readPackagePaths(pkg.dir);
  await mkdir(ctx.staging, { recursive: true });
  const linker = new Linker(pkg, ctx, await realpath(ctx.staging));
  const label = linker.label;

  let targetOf = (path: string): string => path;
  const entryPoints: { target: string; content: string; mode: number }[] = [];
  // Locks read from conda-lock files do not say noarch: the package's index.json does.
  const noarch = pkg.record.noarch ?? (existsSync(join(pkg.dir, "info", "index.json")) ? (await readIndexJson(pkg.dir)).noarch : undefined);
  if (noarch === "python") {
    const python = ctx.pythonVersion;
    if (!python) throw new InputError("install.noarch-python", `${label} is a noarch: python package, but the environment has no python`, { hint: "add python to the spec's dependencies" });
    targetOf = (path) => noarchPythonPath(path, python, ctx.platform);
    const linkJson = await readLinkJson(pkg.dir);
    const specs = linkJson?.noarch.type === "python" ? linkJson.noarch.entry_points : [];
    if (specs.length && ctx.platform.startsWith("win-")) {
      throw new InputError("install.entry-points-windows", `${label} has python entry points, which condaops cannot create for Windows yet`, { hint: "use the micromamba installer for Windows environments" });
    }
    const pythonPath = posix.join(ctx.prefix, pythonExecutable(python, ctx.platform));
    for (const spec of specs) {
      const ep = entryPointScript(spec, pythonPath);
      entryPoints.push({ target: ep.path, content: ep.content, mode: ep.mode });
    }
  }

  const plan = entries.map((e) => ({ e, target: targetOf(e.path) }));
  const seen = new Set<string>();
  for (const target of [...plan.map((p) => p.target), ...entryPoints.map((p) => p.target)]) {
    if (seen.has(target)) throw new InputError("package.duplicate-path", `${label} installs ${target} twice`);
    seen.add(target);
  }

  const paths: LinkedPath[] = [];
  const methods = new Set<Method>();
  const wrap = (target: string, e: unknown): unknown =>
    isCondaopsError(e) ? e : new InfraError("install.link", `${label}: cannot link ${target} into ${ctx.staging}: ${(e as Error).message}`, { cause: e });

  // Parent directories first (each checked once), then the entries, in parallel.
  await forEachLimit([...new Set(plan.map((p) => posix.dirname(p.target)))], PARALLEL, async (d) => {
    await linker.dir(d).catch((e: unknown) => Promise.reject(wrap(d, e)));
  });
  await forEachLimit(plan, PARALLEL, async ({ e, target }) => {
    try {
      const r = await linker.entry(e, target);
      paths.push(r.path);
      methods.add(r.method);
    } catch (err) {
      throw wrap(target, err);
    }
  });
  for (const ep of entryPoints) {
    const bytes = Buffer.from(ep.content);
    try {
      methods.add(await linker.write(ep.target, bytes, ep.mode));
    } catch (err) {
      throw wrap(ep.target, err);
    }
    const h = sha256(bytes);
    paths.push({ _path: ep.target, path_type: "unix_python_entry_point", sha256: h, sha256_in_prefix: h, size_in_bytes: bytes.length });
  }

  paths.sort((a, b) => (a._path < b._path ? -1 : a._path > b._path ? 1 : 0));
  return { files: paths.map((p) => p._path), paths, linkType: methods.has("hardlink") ? "hardlink" : "copy" };
}
