/**
 * Git access through simple-git: resolving refs, reading trees of commits, changed files between
 * two commits, commit metadata. Everything reads objects from the repository (`git show`,
 * `git ls-tree`), never the working tree, except `changedSince(base, "worktree")`.
 */
import { simpleGit } from "simple-git";
import type { SimpleGit } from "simple-git";
import { InfraError, UsageError } from "../errors.ts";
import type { FileTree } from "./file-tree.ts";

export interface CommitInfo {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  /** Committer date, ISO 8601. */
  date: string;
  message: string;
}

export interface GitRepository {
  readonly dir: string;
  /** Full sha of REF; UsageError when REF names nothing. */
  resolve(ref: string): Promise<string>;
  /** The tree of a commit as a FileTree. */
  tree(ref: string): Promise<FileTree>;
  /** Paths changed between BASE and HEAD (a ref, or "worktree" for uncommitted state incl. untracked files). */
  changedSince(base: string, head: string | "worktree"): Promise<string[]>;
  commit(ref: string): Promise<CommitInfo>;
}

export async function openRepository(dir: string): Promise<GitRepository> {
  const git: SimpleGit = simpleGit({ baseDir: dir, maxConcurrentProcesses: 4 });
  let top: string;
  try {
    top = (await git.revparse(["--show-toplevel"])).trim();
  } catch (e) {
    throw new UsageError("git.not-a-repository", `${dir} is not a git repository`, {
      hint: "pass --repo with the folder of your environments repository",
      cause: e,
    });
  }
  const g = simpleGit({ baseDir: top, maxConcurrentProcesses: 4 });

  const resolve = async (ref: string): Promise<string> => {
    // `--end-of-options` keeps a ref such as `--output=x` from being read as an option.
    let sha = "";
    let cause: unknown;
    try {
      sha = (await g.raw(["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])).trim();
    } catch (e) {
      cause = e;
    }
    // `--quiet` makes git exit 1 with no output, which simple-git reports as an empty result.
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) {
      throw new UsageError("git.unknown-ref", `"${ref}" is not a commit in ${top}`, {
        hint: "fetch the history (actions/checkout with fetch-depth: 0) or check the name",
        cause,
      });
    }
    return sha;
  };

  return {
    dir: top,
    resolve,
    async tree(ref) {
      const sha = await resolve(ref);
      let files: Set<string> | undefined;
      const list = async (): Promise<string[]> => {
        if (!files) {
          const out = await g.raw(["ls-tree", "-r", "-z", "--name-only", sha]);
          files = new Set(out.split("\0").filter((p) => p.length > 0));
        }
        return [...files].sort();
      };
      return {
        label: `${ref} (${sha.slice(0, 12)})`,
        list,
        async size(path) {
          await list();
          if (!files?.has(path)) return undefined;
          return Number((await g.raw(["cat-file", "-s", `${sha}:${path}`])).trim());
        },
        async read(path) {
          await list();
          if (!files?.has(path)) return undefined;
          try {
            return await g.showBuffer([`${sha}:${path}`]);
          } catch (e) {
            throw new InfraError("git.read", `cannot read ${path} at ${sha.slice(0, 12)}`, { cause: e });
          }
        },
      };
    },
    async changedSince(base, head) {
      const b = await resolve(base);
      const args = head === "worktree" ? ["diff", "--name-only", "-z", b] : ["diff", "--name-only", "-z", b, await resolve(head)];
      const changed = (await g.raw(args)).split("\0").filter((p) => p.length > 0);
      if (head === "worktree") {
        const untracked = (await g.raw(["ls-files", "--others", "--exclude-standard", "-z"])).split("\0").filter((p) => p.length > 0);
        changed.push(...untracked);
      }
      return [...new Set(changed)].sort();
    },
    async commit(ref) {
      const sha = await resolve(ref);
      const SEP = "\x1f";
      const out = await g.raw(["show", "-s", `--format=%H${SEP}%P${SEP}%an${SEP}%ae${SEP}%cI${SEP}%B`, sha]);
      const [h = sha, p = "", an = "", ae = "", cd = "", ...msg] = out.split(SEP);
      return {
        sha: h,
        parents: p.split(" ").filter(Boolean),
        authorName: an,
        authorEmail: ae,
        date: cd,
        message: msg.join(SEP).trimEnd(),
      };
    },
  };
}
