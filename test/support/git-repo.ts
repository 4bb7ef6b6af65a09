/** Real git repositories for tests: a temp folder, `git init`, files, commits with fixed dates. */
import { mkdtemp, mkdir, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execFileSync } from "node:child_process";

export interface TestRepo {
  dir: string;
  write(files: Record<string, string | Buffer>): Promise<void>;
  remove(paths: string[]): Promise<void>;
  /** Stages everything and commits; returns the new sha. */
  commit(message: string, date?: string): string;
  git(...args: string[]): string;
  cleanup(): Promise<void>;
}

export async function createTestRepo(files: Record<string, string | Buffer> = {}): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-repo-"));
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_AUTHOR_NAME: "Ada Lovelace",
    GIT_AUTHOR_EMAIL: "ada@example.org",
    GIT_COMMITTER_NAME: "Ada Lovelace",
    GIT_COMMITTER_EMAIL: "ada@example.org",
  };
  const git = (...args: string[]): string => execFileSync("git", args, { cwd: dir, env, encoding: "utf8" }).trim();
  git("init", "-q", "-b", "main");
  const repo: TestRepo = {
    dir,
    git,
    async write(fs) {
      for (const [path, content] of Object.entries(fs)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    },
    async remove(paths) {
      for (const p of paths) await rm(join(dir, p), { force: true, recursive: true });
    },
    commit(message, date = "2024-05-01T12:00:00Z") {
      git("add", "-A");
      execFileSync("git", ["commit", "-q", "--allow-empty", "-m", message], {
        cwd: dir,
        env: { ...env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      });
      return git("rev-parse", "HEAD");
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  await repo.write(files);
  return repo;
}
