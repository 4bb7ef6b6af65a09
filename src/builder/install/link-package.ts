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
// Linking is thousands of link(2) calls of microseconds each: synchronous calls in a plain loop
// cost a fraction of a promise round trip through the thread pool per file (warm installs were
// half bookkeeping). linkPackage still yields to the event loop every few hundred entries.
import { chmodSync, closeSync, constants, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readlinkSync, readSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, posix, sep } from "node:path";
import { InfraError, InputError, isCondaopsError } from "../../errors.ts";
import { entryPointScript, noarchPythonPath, pythonExecutable } from "./noarch-python.ts";
import { readIndexJson, readLinkJson, readPackagePaths } from "./package-paths.ts";
import { rewritePrefix } from "./prefix-replace.ts";
import type { ExtractedPackage, LinkContext, LinkedPackage, PathEntry } from "./types.ts";

/** A conda-meta `paths_data` entry; `sha256_in_prefix` is what the file in the prefix hashes to (differs for patched files). */
export type LinkedPath = LinkedPackage["paths"][number];

type Method = "reflink" | "hardlink" | "copy" | "softlink" | "directory" | "kept";

/** Entries linked between two turns of the event loop. */
const YIELD_EVERY = 512;
/** Staging folders where reflink was tried and is not supported (one failed probe, not one per file). */
const noReflink = new Set<string>();
/**
 * The real path of every directory already checked in a staging folder, per link context: later
 * packages of an install reuse them (directories are never removed or replaced while linking).
 */
const checkedDirs = new WeakMap<LinkContext, { root: string; dirs: Map<string, string> }>();

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;
const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

class Linker {
  readonly label: string;

  constructor(
    private readonly pkg: ExtractedPackage,
    private readonly ctx: LinkContext,
    private readonly root: string,
    /** Relative directory → its real path, each checked to be a directory inside the root. */
    private readonly realDirs: Map<string, string>,
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
  dir(rel: string): string {
    if (rel === "." || rel === "") return this.root;
    const known = this.realDirs.get(rel);
    if (known !== undefined) return known;
    const abs = join(this.dir(posix.dirname(rel)), posix.basename(rel));
    let real: string;
    try {
      mkdirSync(abs);
      // Made just now in a checked real directory: it is its own real path.
      real = abs;
    } catch (e) {
      if (code(e) === "ENOTDIR") throw this.clobber(rel);
      if (code(e) !== "EEXIST") throw e;
      real = realpathSync(abs);
      if (!this.inside(real)) throw this.escape(rel, `resolves to ${real}`);
      if (!lstatSync(real).isDirectory()) throw this.clobber(rel);
    }
    this.realDirs.set(rel, real);
    return real;
  }

  /** Refuses a symlink target unless, resolved from the link's real directory (following existing links), it stays inside. */
  private checkLinkTarget(target: string, linkTarget: string): void {
    if (linkTarget === "" || isAbsolute(linkTarget)) throw this.escape(target, `links to ${JSON.stringify(linkTarget)}`);
    let cur = this.dir(posix.dirname(target));
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
          cur = realpathSync(join(cur, part));
        } catch {
          missing = true;
          cur = join(cur, part);
        }
      }
      if (!this.inside(cur)) throw this.escape(target, `links to ${JSON.stringify(linkTarget)}`);
    }
  }

  /** When `dest` exists: keeps it if identical to what would be written, else refuses. */
  private existing(dest: string, target: string, content: { file: string } | { bytes: Buffer } | { link: string }): Method {
    const st = lstatSync(dest);
    let same = false;
    if ("link" in content) {
      same = st.isSymbolicLink() && readlinkSync(dest) === content.link;
    } else if (st.isFile()) {
      if ("bytes" in content) {
        same = st.size === content.bytes.length && readFileSync(dest).equals(content.bytes);
      } else {
        const src = lstatSync(content.file);
        same = (src.ino === st.ino && src.dev === st.dev) || (src.size === st.size && sha256File(content.file) === sha256File(dest));
      }
    }
    if (!same) throw this.clobber(target);
    this.ctx.log?.(`${this.label}: ${target} is already in the prefix with the same content; kept`);
    return "kept";
  }

  /** Writes new bytes (a patched file, an entry point) with `mode`, never replacing a different file. */
  write(target: string, bytes: Buffer, mode: number): Method {
    const dest = join(this.dir(posix.dirname(target)), posix.basename(target));
    try {
      writeFileSync(dest, bytes, { flag: "wx", mode });
    } catch (e) {
      if (code(e) === "EEXIST") return this.existing(dest, target, { bytes });
      throw e;
    }
    chmodSync(dest, mode); // not left to the umask
    return "copy";
  }

  /** A regular file: reflink, else hard link (unless no_link or another filesystem), else copy. */
  place(src: string, target: string, noLink: boolean): Method {
    const dest = join(this.dir(posix.dirname(target)), posix.basename(target));
    const staging = this.ctx.staging;
    if (!noReflink.has(staging)) {
      try {
        copyFileSync(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
        return "reflink";
      } catch (e) {
        if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
        if (code(e) === "ENOENT") throw this.missing(target);
        noReflink.add(staging);
      }
    }
    if (!noLink && this.ctx.hardlinks) {
      try {
        linkSync(src, dest);
        return "hardlink";
      } catch (e) {
        if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
        if (code(e) === "ENOENT") throw this.missing(target);
        // EXDEV, EPERM, EMLINK...: copy this one
        this.ctx.log?.(`${this.label}: cannot hard-link ${target} (${code(e) ?? String(e)}); copying it`);
      }
    }
    try {
      copyFileSync(src, dest, constants.COPYFILE_EXCL);
      return "copy";
    } catch (e) {
      if (code(e) === "EEXIST") return this.existing(dest, target, { file: src });
      if (code(e) === "ENOENT") throw this.missing(target);
      throw e;
    }
  }

  softlink(src: string, target: string): Method {
    let linkTarget: string;
    try {
      linkTarget = readlinkSync(src);
    } catch (e) {
      if (code(e) === "ENOENT") throw this.missing(target);
      if (code(e) === "EINVAL") throw new InputError("package.not-a-link", `${this.label}: ${target} is listed as a softlink but is not one in ${this.pkg.dir}`);
      throw e;
    }
    this.checkLinkTarget(target, linkTarget);
    const dest = join(this.dir(posix.dirname(target)), posix.basename(target));
    try {
      symlinkSync(linkTarget, dest);
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
  entry(e: PathEntry, target: string): { path: LinkedPath; method: Method } {
    const src = join(this.pkg.dir, e.path);
    const path: LinkedPath = { _path: target, path_type: e.type };
    if (e.sha256) path.sha256 = e.sha256;
    if (e.size !== undefined) path.size_in_bytes = e.size;
    if (e.noLink) path.no_link = true;
    let method: Method;
    if (e.type === "directory") {
      this.dir(target);
      method = "directory";
    } else if (e.type === "softlink") {
      method = this.softlink(src, target);
    } else if (e.prefixPlaceholder) {
      let st;
      let data: Buffer;
      try {
        st = lstatSync(src);
        if (!st.isFile()) throw new InputError("package.not-a-file", `${this.label}: ${e.path} carries a prefix placeholder but is not a regular file`);
        data = readFileSync(src);
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
      method = this.write(target, out, st.mode & 0o7777);
    } else {
      method = this.place(src, target, e.noLink === true);
      if (e.sha256) path.sha256_in_prefix = e.sha256;
    }
    return { path, method };
  }
}

/** What linking one package will do, read from its `info/` ahead of time (see planLink). */
export interface LinkPlan {
  pkg: ExtractedPackage;
  entries: { e: PathEntry; target: string }[];
  entryPoints: { target: string; content: string; mode: number }[];
}

/**
 * Reads and checks what `pkg` installs (info/paths.json or its older equivalents, noarch python
 * paths and entry points) without writing anything: an installer reads the next packages' info/
 * while it links the current one. Rejects with the errors linkPackage would.
 */
export async function planLink(pkg: ExtractedPackage, ctx: LinkContext): Promise<LinkPlan> {
  const entries = await readPackagePaths(pkg.dir);
  const r = pkg.record;
  const label = `${r.name}-${r.version}-${r.build}`;
  let targetOf = (path: string): string => path;
  const entryPoints: LinkPlan["entryPoints"] = [];
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
  return { pkg, entries: plan, entryPoints };
}

/** Links a planned package into `ctx.staging` (rewritten for `ctx.prefix`) and returns what conda-meta records. */
export async function applyLink(plan: LinkPlan, ctx: LinkContext): Promise<LinkedPackage> {
  let checked = checkedDirs.get(ctx);
  if (!checked) {
    mkdirSync(ctx.staging, { recursive: true });
    checked = { root: realpathSync(ctx.staging), dirs: new Map() };
    checkedDirs.set(ctx, checked);
  }
  const linker = new Linker(plan.pkg, ctx, checked.root, checked.dirs);
  const label = linker.label;
  const paths: LinkedPath[] = [];
  const methods = new Set<Method>();
  const wrap = (target: string, e: unknown): unknown =>
    isCondaopsError(e) ? e : new InfraError("install.link", `${label}: cannot link ${target} into ${ctx.staging}: ${(e as Error).message}`, { cause: e });

  // Parent directories first (each checked once), then the entries.
  for (const d of new Set(plan.entries.map((p) => posix.dirname(p.target)))) {
    try {
      linker.dir(d);
    } catch (e) {
      throw wrap(d, e);
    }
  }
  let sinceTurn = 0;
  for (const { e, target } of plan.entries) {
    try {
      const r = linker.entry(e, target);
      paths.push(r.path);
      methods.add(r.method);
    } catch (err) {
      throw wrap(target, err);
    }
    if (++sinceTurn === YIELD_EVERY) {
      sinceTurn = 0;
      await turn();
    }
  }
  for (const ep of plan.entryPoints) {
    const bytes = Buffer.from(ep.content);
    try {
      methods.add(linker.write(ep.target, bytes, ep.mode));
    } catch (err) {
      throw wrap(ep.target, err);
    }
    const h = sha256(bytes);
    paths.push({ _path: ep.target, path_type: "unix_python_entry_point", sha256: h, sha256_in_prefix: h, size_in_bytes: bytes.length });
  }

  paths.sort((a, b) => (a._path < b._path ? -1 : a._path > b._path ? 1 : 0));
  return { files: paths.map((p) => p._path), paths, linkType: methods.has("hardlink") ? "hardlink" : "copy" };
}

/** Links `pkg` into `ctx.staging` (rewritten for `ctx.prefix`) and returns what conda-meta records. */
export async function linkPackage(pkg: ExtractedPackage, ctx: LinkContext): Promise<LinkedPackage> {
  return applyLink(await planLink(pkg, ctx), ctx);
}
