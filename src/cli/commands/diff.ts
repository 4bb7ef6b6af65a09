/**
 * `condaops diff A B [--markdown] [--exit-code] [--platform P]`: what changes between two locks,
 * per platform. Exit 0 whatever the differences; with --exit-code, 1 when they differ (as
 * `git diff --exit-code`). The markdown form is what the GitHub Action posts on pull requests.
 */
import { readFile } from "node:fs/promises";
import { UsageError } from "../../errors.ts";
import { parseCondaLock } from "../../builder/lock/conda-lock-v1.ts";
import { diffLocks, formatDiffMarkdown, formatDiffText, isEmptyDiff } from "../../builder/lock/diff.ts";
import type { Lock } from "../../builder/lock/types.ts";
import type { CommandModule } from "../command.ts";

async function readLock(file: string): Promise<Lock> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError("diff.missing", `cannot read ${file}`, { hint: "name two conda-lock.yml files" });
  }
  return parseCondaLock(file, text);
}

function onlyPlatforms(lock: Lock, platforms: string[] | undefined): Lock {
  if (!platforms) return lock;
  return { ...lock, platforms: lock.platforms.filter((p) => platforms.includes(p)), packages: lock.packages.filter((p) => platforms.includes(p.platform)) };
}

export const diffCommand: CommandModule = {
  name: "diff",
  define: (cmd) =>
    cmd
      .description("packages added, removed, upgraded, downgraded and rebuilt between two locks")
      .argument("<a>", "the lock before")
      .argument("<b>", "the lock after")
      .option("--markdown", "a Markdown report (what the GitHub Action posts)")
      .option("--exit-code", "exit 1 when the locks differ")
      .option("--platform <platform...>", "only these platforms"),
  run: async (cmd, _globals, out) => {
    const [a, b] = cmd.args as [string, string];
    const o = cmd.opts<{ markdown?: boolean; exitCode?: boolean; platform?: string[] }>();
    const d = diffLocks(onlyPlatforms(await readLock(a), o.platform), onlyPlatforms(await readLock(b), o.platform));
    const same = isEmptyDiff(d);
    out.result({ ok: true, same, diff: d });
    out.info((o.markdown ? formatDiffMarkdown(d) : formatDiffText(d)).trimEnd());
    return o.exitCode && !same ? 1 : 0;
  },
};
