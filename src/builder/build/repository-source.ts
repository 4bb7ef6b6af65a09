/**
 * `--repo DIR_OR_URL`: a local repository is read in place; a URL is cloned once into
 * `<cache>/repos/<sha256(url)>` and fetched on every later build, so the builder always reads
 * objects from git (never a working tree someone is editing). The identity recorded in the
 * database is the URL without credentials, or the repository's absolute path.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, realpath } from "node:fs/promises";
import { join, resolve } from "node:path";
import { simpleGit } from "simple-git";
import { InfraError, UsageError } from "../../errors.ts";
import { openRepository } from "../../git/repository.ts";
import type { GitRepository } from "../../git/repository.ts";
import { redactText, redactUrl } from "../channels/redact.ts";

export interface RepositorySource {
  repo: GitRepository;
  /** What the database records and messages show: a redacted URL or an absolute path. */
  identity: string;
  /** The ref builds use when none is given: the remote's default branch for a URL, HEAD for a folder. */
  defaultRef: string;
}

const isUrl = (s: string): boolean => /^(https?|ssh|git|file):\/\//.test(s) || /^[\w.-]+@[\w.-]+:/.test(s);

/**
 * `identity` overrides what the database records: a CI checkout's path says nothing about which
 * repository it is (every runner checks out to /home/runner/work/<repo>/<repo>), its URL does.
 */
export async function openRepositorySource(dirOrUrl: string, cacheDir: string, log: (line: string) => void, identity?: string): Promise<RepositorySource> {
  if (!isUrl(dirOrUrl)) {
    const dir = resolve(dirOrUrl);
    if (!existsSync(dir)) throw new UsageError("build.repo-missing", `${dirOrUrl} does not exist`, { hint: "pass --repo with the folder or URL of your environments repository" });
    const repo = await openRepository(dir);
    return { repo, identity: identity ?? (await realpath(repo.dir)), defaultRef: "HEAD" };
  }
  const shown = redactUrl(dirOrUrl);
  const dir = join(cacheDir, "repos", createHash("sha256").update(dirOrUrl).digest("hex").slice(0, 24));
  try {
    if (!existsSync(join(dir, ".git"))) {
      log(`cloning ${shown}`);
      await mkdir(join(cacheDir, "repos"), { recursive: true });
      await simpleGit().clone(dirOrUrl, dir, ["--no-checkout", "--quiet"]);
    } else {
      log(`fetching ${shown}`);
      await simpleGit({ baseDir: dir }).fetch(["--prune", "--quiet", "origin"]);
    }
    // The default branch as the remote says now (it can be renamed).
    await simpleGit({ baseDir: dir }).raw(["remote", "set-head", "origin", "--auto"]);
  } catch (e) {
    throw new InfraError("build.repo-fetch", `cannot clone or fetch ${shown}: ${redactText(e instanceof Error ? e.message : String(e)).split("\n")[0] ?? ""}`, {
      hint: "check the URL and that this machine can reach it (credentials go in a git credential helper, not the URL)",
    });
  }
  return { repo: await openRepository(dir), identity: shown, defaultRef: "origin/HEAD" };
}
