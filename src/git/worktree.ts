/** The working tree on disk as a FileTree (files git would ignore are still listed; hidden folders at the root are not). */
import { readFile, readdir, lstat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { FileTree } from "./file-tree.ts";

const SKIP_DIRS = new Set(["node_modules"]);

export function worktree(root: string): FileTree {
  return {
    label: root,
    async list() {
      const out: string[] = [];
      const walk = async (dir: string, depth: number): Promise<void> => {
        // Specs live one level below the root; two levels are enough to also see misplaced files.
        if (depth > 2) return;
        for (const entry of await readdir(dir, { withFileTypes: true })) {
          // Hidden entries at the root are tool folders (.git, .github); deeper ones are listed
          // so that a hidden spec is reported rather than silently skipped.
          if ((depth === 0 && entry.name.startsWith(".")) || entry.name === ".git" || SKIP_DIRS.has(entry.name)) continue;
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await walk(path, depth + 1);
          else if (entry.isFile()) out.push(relative(root, path).split(sep).join("/"));
        }
      };
      await walk(root, 0);
      return out.sort();
    },
    async size(path) {
      try {
        const st = await lstat(join(root, path));
        return st.isFile() ? st.size : undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
    async read(path) {
      const full = join(root, path);
      try {
        const st = await lstat(full);
        if (!st.isFile()) return undefined;
        return await readFile(full);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },
  };
}
