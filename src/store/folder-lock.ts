/**
 * One process at a time in an embedded database folder. PGlite has no cross-process locking: two
 * processes opening the same folder both "succeed" and one's writes are silently lost (checked:
 * the second process's committed row was gone after both closed). A lock file held for the
 * database's lifetime turns that into a clear error; a lock left by a dead process on this host
 * is taken over.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { InfraError } from "../errors.ts";

export const LOCK_FILE = "condaops.lock";

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

/** Takes `<dir>/condaops.lock` or throws `store.locked`; resolves to the function that releases it. */
export async function lockFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const mine: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(path, "wx");
      try {
        await handle.writeFile(text);
      } finally {
        await handle.close();
      }
      return async () => {
        // Release only our own lock (never one a later owner took over).
        if ((await readFile(path, "utf8").catch(() => "")) === text) await unlink(path).catch(() => {});
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new InfraError("store.connect", `cannot create the lock file ${path}: ${(e as Error).message}`, { cause: e });
      }
    }
    const held = await readFile(path, "utf8").catch(() => "");
    const owner = parseOwner(held);
    if (owner && isAlive(owner)) {
      throw new InfraError("store.locked", `the embedded database in ${dir} is in use by process ${owner.pid} on ${owner.host} (since ${owner.since})`, {
        hint: `stop that process, or share one PostgreSQL database (database.url) between processes; if no such process runs, delete ${path}`,
      });
    }
    if (!owner && held.trim() !== "") {
      throw new InfraError("store.locked", `the embedded database in ${dir} has an unreadable lock file ${path}`, {
        hint: "if no condaops process uses this folder, delete the lock file",
      });
    }
    // Left by a dead process (or empty: a crash between create and write): take it over once.
    if ((await readFile(path, "utf8").catch(() => "")) === held) await unlink(path).catch(() => {});
  }
  throw new InfraError("store.locked", `the embedded database in ${dir} is being opened by another process`, {
    hint: "try again, or share one PostgreSQL database (database.url) between processes",
  });
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockOwner>;
    return typeof v.pid === "number" && typeof v.host === "string" ? { pid: v.pid, host: v.host, since: String(v.since ?? "?") } : undefined;
  } catch {
    return undefined;
  }
}

/** A lock from another host (a shared filesystem) cannot be checked: it counts as held. */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
