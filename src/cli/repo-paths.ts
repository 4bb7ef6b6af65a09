/** Where a spec file named on the command line sits: its environments repository and its path in it. */
import { existsSync, statSync } from "node:fs";
import { dirname, relative, resolve, sep } from "node:path";
import { UsageError } from "../errors.ts";

/** The repository a spec file belongs to: `<repo>/<namespace>/<name>.yaml`. */
export function repoOfFile(file: string): string {
  return dirname(dirname(resolve(file)));
}

export function checkRepoDir(repo: string): string {
  const dir = resolve(repo);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError("repo.not-a-folder", `${dir} is not a folder`, { hint: "pass --repo with the environments repository" });
  return dir;
}

/** `file` as a POSIX path relative to `repo`; a usage error when it lies outside. */
export function toRepoPath(repo: string, file: string): string {
  const rel = relative(repo, resolve(file));
  if (rel.startsWith("..") || rel === "" || resolve(file) === rel) {
    throw new UsageError("repo.outside", `${file} is not inside the repository ${repo}`, { hint: "pass --repo with the repository that holds it" });
  }
  return rel.split(sep).join("/");
}
