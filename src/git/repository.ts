/**
 * Git access through simple-git: resolving refs, reading trees of commits, changed files between
 * two commits, commit metadata. Everything reads objects from the repository (`git show`,
 * `git ls-tree`), never the working tree, except `changedSince(base, "worktree")`.
 */
import { join } from "node:path";
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
  /** The environments repository's root: the git top level, or the subfolder it was opened at. */
  readonly dir: string;
  /** The git top level (paths GitHub annotates are relative to it). */
  readonly root: string;
  /** Full sha of REF; UsageError when REF names nothing. */
  resolve(ref: string): Promise<string>;
  /** The tree of a commit as a FileTree. */
  tree(ref: string): Promise<FileTree>;
  /** Paths changed between BASE and HEAD (a ref, or "worktree" for uncommitted state incl. untracked files). */
  changedSince(base: string, head: string | "worktree"): Promise<string[]>;
  commit(ref: string): Promise<CommitInfo>;
  /** Up to `max` commits of REF's first-parent history, REF first, after skipping `skip`. */
  firstParentHistory(ref: string, max: number, skip?: number): Promise<CommitInfo[]>;
  /** The best common ancestor of A and B (where a pull request's changes start). */
  mergeBase(a: string, b: string): Promise<string>;
  /** True for a shallow clone (`fetch-depth: 1`): history is missing, so "what changed" cannot be told. */
  isShallow(): Promise<boolean>;
  /** True when ANCESTOR is REF or one of its ancestors; false also when ANCESTOR is unknown. */
  isAncestor(ancestor: string, ref: string): Promise<boolean>;
}

const SEP = "\x1f";
const RECORD = "\x1e";
/** One commit per record: sha, parents, author, email, committer date, message. */
const COMMIT_FORMAT = `${RECORD}%H${SEP}%P${SEP}%an${SEP}%ae${SEP}%cI${SEP}%B`;

function parseCommit(record: string): CommitInfo {
  const [h = "", p = "", an = "", ae = "", cd = "", ...msg] = record.split(SEP);
  return { sha: h, parents: p.split(" ").filter(Boolean), authorName: an, authorEmail: ae, date: cd, message: msg.join(SEP).trimEnd() };
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
  // A folder inside a larger repository (a monorepo's `environments/`) is the environments
  // repository's root: paths are read under it and reported relative to it.
  const sub = (await git.revparse(["--show-prefix"])).trim();
  const scope = sub === "" ? [] : ["--", sub];
  const strip = (paths: string[]): string[] => (sub === "" ? paths : paths.filter((p) => p.startsWith(sub)).map((p) => p.slice(sub.length)));

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
    dir: sub === "" ? top : join(top, sub),
    root: top,
    resolve,
    async tree(ref) {
      const sha = await resolve(ref);
      let files: Set<string> | undefined;
      const list = async (): Promise<string[]> => {
        if (!files) {
          const out = await g.raw(["ls-tree", "-r", "-z", "--name-only", sha, ...scope]);
          files = new Set(strip(out.split("\0").filter((p) => p.length > 0)));
        }
        return [...files].sort();
      };
      return {
        label: `${ref} (${sha.slice(0, 12)})`,
        list,
        async size(path) {
          await list();
          if (!files?.has(path)) return undefined;
          return Number((await g.raw(["cat-file", "-s", `${sha}:${sub}${path}`])).trim());
        },
        async read(path) {
          await list();
          if (!files?.has(path)) return undefined;
          try {
            return await g.showBuffer([`${sha}:${sub}${path}`]);
          } catch (e) {
            throw new InfraError("git.read", `cannot read ${path} at ${sha.slice(0, 12)}`, { cause: e });
          }
        },
      };
    },
    async changedSince(base, head) {
      const b = await resolve(base);
      // --no-renames: a moved spec is a removed environment plus a new one, and both must be seen.
      const args = head === "worktree" ? ["diff", "--no-renames", "--name-only", "-z", b, ...scope] : ["diff", "--no-renames", "--name-only", "-z", b, await resolve(head), ...scope];
      const changed = strip((await g.raw(args)).split("\0").filter((p) => p.length > 0));
      if (head === "worktree") {
        const untracked = (await g.raw(["ls-files", "--others", "--exclude-standard", "-z", "--full-name", ...scope])).split("\0").filter((p) => p.length > 0);
        changed.push(...strip(untracked));
      }
      return [...new Set(changed)].sort();
    },
    async commit(ref) {
      const sha = await resolve(ref);
      const out = await g.raw(["show", "-s", `--format=${COMMIT_FORMAT}`, sha]);
      return parseCommit(out.replace(/^\x1e/, "").replace(/\n$/, ""));
    },
    async firstParentHistory(ref, max, skip = 0) {
      const sha = await resolve(ref);
      const out = await g.raw(["log", "--first-parent", `--max-count=${max}`, `--skip=${skip}`, `--format=${COMMIT_FORMAT}`, sha]);
      return out
        .split(RECORD)
        .filter((r) => r.length > 0)
        .map((r) => parseCommit(r.replace(/\n$/, "")));
    },
    async isShallow() {
      return (await g.raw(["rev-parse", "--is-shallow-repository"])).trim() === "true";
    },
    async mergeBase(a, b) {
      const [x, y] = [await resolve(a), await resolve(b)];
      const base = (await g.raw(["merge-base", x, y]).catch(() => "")).trim();
      if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(base)) {
        throw new UsageError("git.no-merge-base", `${a} and ${b} have no common history in ${top}`, { hint: "fetch the whole history (actions/checkout with fetch-depth: 0)" });
      }
      return base;
    },
    async isAncestor(ancestor, ref) {
      // simple-git resolves a bare non-zero exit as empty output, so `--is-ancestor` cannot be
      // read from it: A is an ancestor of B exactly when merge-base(A, B) is A.
      const head = await resolve(ref);
      let a: string;
      try {
        a = await resolve(ancestor);
      } catch {
        return false;
      }
      const base = (await g.raw(["merge-base", a, head]).catch(() => "")).trim();
      return base === a;
    },
  };
}
