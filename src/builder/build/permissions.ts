/**
 * Ownership and modes of a built prefix on a shared server, as conda-store's `default_permissions`,
 * `default_uid` and `default_gid` do: folders get the mode; regular files get it too, but keep
 * execute bits only where the file was already executable by its owner (data files do not become
 * executable); symlinks are never followed, never chmod-ed, and only lchown-ed.
 *
 * Note: files hard-linked from the package cache share their inode with it, so their mode and
 * owner change there too (as with conda-store).
 */
import { lchown, lstat, readdir, chmod } from "node:fs/promises";
import { join } from "node:path";
import { InfraError, InputError } from "../../errors.ts";

export interface PermissionOptions {
  /** e.g. 0o775; only the permission bits (0o777) apply to files; folders also keep setgid/sticky bits given here. */
  mode?: number;
  uid?: number;
  gid?: number;
}

/** "775", "0775", "0o775" -> 0o775. */
export function parsePermissions(text: string): number {
  const m = /^(?:0o?)?([0-7]{3})$/.exec(String(text).trim());
  if (!m) {
    throw new InputError("config.permissions", `invalid permissions ${JSON.stringify(text)}: expected three octal digits such as "775", "0775" or "0o775"`);
  }
  return parseInt(m[1] as string, 8);
}

function errnoOf(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined;
}

function permissionError(action: string, path: string, e: unknown, options: PermissionOptions): InfraError {
  const code = errnoOf(e);
  const why = e instanceof Error ? e.message : String(e);
  const owner = options.uid !== undefined || options.gid !== undefined;
  const hint =
    code === "EPERM" || code === "EACCES"
      ? owner
        ? "run the build as a user allowed to chown (root, or one with CAP_CHOWN), or unset default_uid/default_gid"
        : "run the build as the owner of the prefix (or root), or unset default_permissions"
      : undefined;
  return new InfraError("build.permissions", `cannot ${action} ${path}: ${why}`, { cause: e, hint });
}

type Kind = "dir" | "file" | "symlink" | "other";

/** Applies `options` to `dir` and everything under it, without following symlinks. */
export async function applyPermissions(dir: string, options: PermissionOptions): Promise<void> {
  const { mode, uid, gid } = options;
  if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)) {
    throw new InputError("config.permissions", `invalid permissions mode ${String(mode)}: expected an octal mode such as 0o775`);
  }
  const chown = uid !== undefined || gid !== undefined;
  if (mode === undefined && !chown) return;

  // Collect first (no following of symlinks), then apply: files before folders, deepest folders first.
  const entries: { path: string; kind: Kind }[] = [];
  const dirs: string[] = [];
  const walk = async (path: string): Promise<void> => {
    dirs.push(path);
    let children;
    try {
      children = await readdir(path, { withFileTypes: true });
    } catch (e) {
      throw permissionError("read the folder", path, e, options);
    }
    for (const child of children) {
      const p = join(path, child.name);
      if (child.isDirectory()) await walk(p);
      else entries.push({ path: p, kind: child.isSymbolicLink() ? "symlink" : child.isFile() ? "file" : "other" });
    }
  };
  let top;
  try {
    top = await lstat(dir);
  } catch (e) {
    throw permissionError("read", dir, e, options);
  }
  if (top.isDirectory()) await walk(dir);
  else entries.push({ path: dir, kind: top.isSymbolicLink() ? "symlink" : top.isFile() ? "file" : "other" });

  const owner = async (path: string): Promise<void> => {
    if (!chown) return;
    try {
      await lchown(path, uid ?? -1, gid ?? -1);
    } catch (e) {
      throw permissionError(`change the owner (${uid ?? "-"}:${gid ?? "-"}) of`, path, e, options);
    }
  };

  const one = async ({ path, kind }: { path: string; kind: Kind }): Promise<void> => {
    if (kind === "other") return;
    if (kind === "file" && mode !== undefined) {
      let current: number;
      try {
        current = (await lstat(path)).mode;
      } catch (e) {
        throw permissionError("read", path, e, options);
      }
      const bits = (mode & 0o666) | ((current & 0o100) !== 0 ? mode & 0o111 : 0);
      try {
        await chmod(path, bits);
      } catch (e) {
        throw permissionError(`set the mode ${bits.toString(8)} of`, path, e, options);
      }
    }
    await owner(path); // symlinks: lchown only
  };

  // A bounded pool: prefixes have tens of thousands of files.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) await one(entries[next++] as { path: string; kind: Kind });
  };
  await Promise.all(Array.from({ length: Math.min(32, entries.length) }, worker));

  for (const d of dirs.reverse()) {
    await owner(d);
    if (mode !== undefined) {
      try {
        await chmod(d, mode);
      } catch (e) {
        throw permissionError(`set the mode ${mode.toString(8)} of`, d, e, options);
      }
    }
  }
}
