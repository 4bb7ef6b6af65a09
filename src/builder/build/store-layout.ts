/**
 * The store on disk under the state folder (DESIGN.md, "References"):
 *
 *   <state>/builds/<env-hash-12>-<name>/   immutable prefixes, shared by builds with the same environment hash
 *   <state>/envs/<ns>/<name>               the current build: a symlink, swapped atomically
 *   <state>/pins/<ns>/<name>/<commit>      one symlink per built commit
 *   <state>/blobs/                          the local object storage (default)
 *   <state>/db/                             the embedded database (default)
 *
 * Links are relative (`../../builds/...`), so the state folder can be moved or mounted elsewhere.
 * Names are validated upstream (src/spec/identifiers.ts); they are checked again here and every
 * path is asserted to stay under the state folder, so a bad name can never reach outside it.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readlink, rename, rm, symlink, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { InfraError, InputError } from "../../errors.ts";
import { checkIdentifier } from "../../spec/identifiers.ts";

export interface StoreLayout {
  stateDir: string;
  buildsDir: string;
  envsDir: string;
  pinsDir: string;
  blobsDir: string;
  dbDir: string;
  /** `<state>/tmp`: scratch space of running builds (artifact files before upload). */
  tmpDir: string;
  /** `<state>/builds/<hash12>-<name>` */
  prefixFor(envHash: string, name: string): string;
  /** `<state>/envs/<ns>/<name>` */
  envLink(ns: string, name: string): string;
  /** `<state>/pins/<ns>/<name>/<commit>` */
  pinLink(ns: string, name: string, commit: string): string;
}

const HASH = /^[0-9a-f]{12,64}$/;
const COMMIT = /^[0-9a-f]{4,64}$/;

function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

function identifier(kind: "namespace" | "environment name", value: string): string {
  const r = checkIdentifier(kind, value);
  if (!r.ok) throw new InputError("store.name", `cannot place ${kind} in the store: ${r.reason}`);
  return value;
}

function hex(kind: string, value: string, pattern: RegExp): string {
  if (!pattern.test(value)) throw new InputError("store.name", `cannot place ${kind} ${JSON.stringify(value)} in the store: expected lowercase hex`);
  return value;
}

export function storeLayout(stateDir: string): StoreLayout {
  const state = resolve(stateDir);
  const under = (...parts: string[]): string => {
    const path = join(state, ...parts);
    const r = relative(state, path);
    if (r === "" || isAbsolute(r) || r === ".." || r.startsWith(`..${sep}`)) {
      throw new InputError("store.name", `store path ${path} is outside the state folder ${state}`);
    }
    return path;
  };
  const buildsDir = join(state, "builds");
  const envsDir = join(state, "envs");
  const pinsDir = join(state, "pins");
  return {
    stateDir: state,
    buildsDir,
    envsDir,
    pinsDir,
    blobsDir: join(state, "blobs"),
    dbDir: join(state, "db"),
    tmpDir: join(state, "tmp"),
    prefixFor(envHash: string, name: string): string {
      const hash = hex("environment hash", envHash, HASH).slice(0, 12);
      return under("builds", `${hash}-${identifier("environment name", name)}`);
    },
    envLink(ns: string, name: string): string {
      return under("envs", identifier("namespace", ns), identifier("environment name", name));
    },
    pinLink(ns: string, name: string, commit: string): string {
      return under("pins", identifier("namespace", ns), identifier("environment name", name), hex("commit", commit, COMMIT));
    },
  };
}

function linkError(action: string, linkPath: string, e: unknown): InfraError {
  const code = errnoOf(e);
  const why = e instanceof Error ? e.message : String(e);
  return new InfraError("store.link", `cannot ${action} ${linkPath}: ${why}`, {
    cause: e,
    hint:
      code === "EACCES" || code === "EPERM" || code === "EROFS"
        ? `check that the user running condaops can write to ${dirname(linkPath)}`
        : code === "EISDIR" || code === "ENOTEMPTY" || code === "EEXIST"
          ? `${linkPath} is a folder, not a link: move it away`
          : undefined,
  });
}

/**
 * Points `linkPath` at `target` atomically: a new symlink is made at `<link>.tmp-<random>` and
 * renamed over the old one, so a reader sees the old target or the new, never nothing. The link
 * text is relative to the link's folder. Refuses to replace anything that is not a symlink.
 */
export async function swapSymlink(linkPath: string, target: string): Promise<void> {
  const link = resolve(linkPath);
  const dir = dirname(link);
  const text = relative(dir, resolve(target)) || ".";
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw linkError("create the folder of", link, e);
  }
  const existing = await lstat(link).catch((e: unknown) => {
    if (errnoOf(e) === "ENOENT") return undefined;
    throw linkError("inspect", link, e);
  });
  if (existing !== undefined && !existing.isSymbolicLink()) {
    throw new InfraError("store.link", `cannot point ${link} at ${target}: it exists and is not a symlink`, {
      hint: `move ${link} away; condaops manages it as a symlink`,
    });
  }
  const tmp = join(dir, `${basename(link)}.tmp-${randomBytes(6).toString("hex")}`);
  try {
    await symlink(text, tmp);
    await rename(tmp, link);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw linkError("point", link, e);
  }
  try {
    const fh = await open(dir, "r");
    await fh.sync().finally(() => fh.close());
  } catch {
    // Best effort: not every filesystem fsyncs folders; the rename is atomic regardless.
  }
}

/** The absolute target of the symlink at `linkPath`, or undefined when there is none. */
export async function readLink(linkPath: string): Promise<string | undefined> {
  const link = resolve(linkPath);
  try {
    return resolve(dirname(link), await readlink(link));
  } catch (e) {
    const code = errnoOf(e);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "EINVAL") {
      throw new InfraError("store.link", `${link} is not a symlink`, { cause: e, hint: `move ${link} away; condaops manages it as a symlink` });
    }
    throw linkError("read", link, e);
  }
}

/** Removes the symlink at `linkPath` (an environment was removed); nothing when absent; never removes a real folder or file. */
export async function removeLink(linkPath: string): Promise<void> {
  const link = resolve(linkPath);
  let info;
  try {
    info = await lstat(link);
  } catch (e) {
    const code = errnoOf(e);
    if (code === "ENOENT" || code === "ENOTDIR") return;
    throw linkError("inspect", link, e);
  }
  if (!info.isSymbolicLink()) {
    throw new InfraError("store.link", `refusing to remove ${link}: it is not a symlink`, { hint: `move ${link} away by hand if it should go` });
  }
  try {
    await unlink(link);
  } catch (e) {
    if (errnoOf(e) === "ENOENT") return;
    throw linkError("remove", link, e);
  }
}
