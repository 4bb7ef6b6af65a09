/**
 * Walking a prefix for an archive of it (the pack, the OCI layer): every directory, file and
 * symlink, depth first with names in byte order (the archive's order, the same on every
 * machine), never following links. What an environment moved elsewhere cannot carry is refused
 * here, before a byte is written: symlinks that lead out of the prefix (absolute ones into it are
 * made relative, the original kept as `absolute`), names that are not UTF-8 (manifests and the
 * unpack script name files in UTF-8), and sockets, fifos and devices. Error codes carry the
 * artifact's kind (`pack.symlink-escape`, `oci.symlink-escape`).
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import type { Stats } from "node:fs";
import { dirname, join, posix, sep } from "node:path";
import { InputError } from "../../errors.ts";

interface Common {
  /** Relative to the prefix, POSIX. */
  path: string;
  abs: string;
  stat: Stats;
}
export type PrefixEntry =
  | (Common & { kind: "directory" })
  | (Common & { kind: "file" })
  /** `target` is what the archive stores; `absolute` the link's own target when it was made relative. */
  | (Common & { kind: "symlink"; target: string; absolute?: string });

export class PrefixWalker {
  private readonly realRoot: string;

  constructor(
    /** The prefix as its files name it (absolute, no trailing slash). */
    private readonly prefix: string,
    /** The artifact the walk is for, the first part of error codes (`pack`, `oci`). */
    private readonly artifact: string,
    private readonly skip: (path: string) => boolean = () => false,
  ) {
    this.realRoot = realpathSync(prefix);
  }

  private escape(path: string, target: string, why = "outside the environment"): InputError {
    return new InputError(`${this.artifact}.symlink-escape`, `${path} links to ${JSON.stringify(target)}, ${why}: an environment moved elsewhere cannot carry it`, {
      hint: "remove the link (or the package that made it) from the environment",
    });
  }

  private utf8Name(raw: Buffer, dir: string): string {
    const name = raw.toString("utf8");
    if (!Buffer.from(name, "utf8").equals(raw)) {
      throw new InputError(`${this.artifact}.file-name`, `${join(dir, name)}: the file name is not valid UTF-8`, { hint: "rename or remove the file; the archive names files in UTF-8" });
    }
    return name;
  }

  private inside(real: string): boolean {
    return real === this.realRoot || real.startsWith(this.realRoot + sep);
  }

  /** The link's target as stored: relative, and checked to resolve inside the prefix (following links that exist). */
  private linkTarget(path: string, target: string): { target: string; absolute?: string } {
    let stored = target;
    let absolute: string | undefined;
    if (target.startsWith("/")) {
      const base = [this.prefix, this.realRoot].find((p) => target === p || target.startsWith(`${p}/`));
      if (base === undefined) throw this.escape(path, target);
      absolute = target;
      stored = posix.relative(posix.dirname(path), target.slice(base.length + 1)) || ".";
    }
    if (stored === "") throw this.escape(path, target, "an empty target");
    let cur = join(this.realRoot, dirname(path));
    let missing = false;
    for (const part of stored.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") {
        // Above a component that does not exist, where ".." lands depends on what appears there later.
        if (missing) throw this.escape(path, target, "through a missing folder, which cannot be checked");
        cur = dirname(cur);
      } else if (missing) {
        cur = join(cur, part);
      } else {
        const next = join(cur, part);
        try {
          cur = realpathSync(next);
        } catch {
          missing = true;
          cur = next;
        }
      }
      if (!this.inside(cur)) throw this.escape(path, target);
    }
    return absolute === undefined ? { target: stored } : { target: stored, absolute };
  }

  /** Entries under the prefix (not the prefix itself), parents before children. */
  *entries(): Generator<PrefixEntry> {
    yield* this.walk("");
  }

  private *walk(dirPath: string): Generator<PrefixEntry> {
    const dirAbs = dirPath ? join(this.prefix, dirPath) : this.prefix;
    const raw = readdirSync(dirAbs, { encoding: "buffer" }).sort(Buffer.compare);
    for (const r of raw) {
      const name = this.utf8Name(r, dirAbs);
      const path = dirPath ? `${dirPath}/${name}` : name;
      if (this.skip(path)) continue;
      const abs = join(dirAbs, name);
      const stat = lstatSync(abs);
      if (stat.isDirectory()) {
        yield { kind: "directory", path, abs, stat };
        yield* this.walk(path);
      } else if (stat.isFile()) {
        yield { kind: "file", path, abs, stat };
      } else if (stat.isSymbolicLink()) {
        yield { kind: "symlink", path, abs, stat, ...this.linkTarget(path, readlinkSync(abs)) };
      } else {
        throw new InputError(`${this.artifact}.file-type`, `${abs} is a socket, fifo or device, which an archive of the environment cannot carry`, { hint: "remove it from the environment" });
      }
    }
  }
}
