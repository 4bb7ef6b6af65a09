/**
 * Committed locks in a pull request. A lock (`<ns>/<name>.lock.yml`) is built verbatim when its
 * spec hash matches, so changing the lock changes the environment: its spec joins the changed
 * specs (approvals, package diff, `changed-environments`). Every lock the PR touches, and every
 * lock the builder would use for a changed spec, must obey the spec and the judging policy
 * (lock-policy.ts): its `content_hash` proves nothing, anyone can compute it. Besides, a lock must
 * parse and should match its spec (committed-lock.ts).
 */
import { committedLockFindings, committedLockPath, readCommittedLock } from "../builder/lock/committed-lock.ts";
import type { FileTree } from "../git/file-tree.ts";
import type { Finding } from "../spec/finding.ts";
import { classifyPath, specPath } from "../spec/repo-layout.ts";
import type { ValidatedSpec } from "../spec/validate-repo.ts";

/** The changed paths with the spec of every changed lock added: a lock change is a change of its environment. */
export function withSpecsOfChangedLocks(changed: readonly string[]): string[] {
  const out = new Set(changed);
  for (const p of changed) {
    const c = classifyPath(p);
    if (c.kind === "lock") out.add(specPath(c.ref));
  }
  return [...out].sort();
}

/**
 * Findings on the committed locks of the changed specs at the head: unparseable (error), stale
 * (warning), and against the spec and policy (errors) when the PR changed the lock or the builder
 * would use it. `changed` are the paths the PR changed (before adding locks' specs).
 */
export async function checkChangedLocks(head: FileTree, specs: readonly ValidatedSpec[], changed: readonly string[], options: { channelAlias?: string }): Promise<Finding[]> {
  const findings: Finding[] = [];
  const touched = new Set(changed);
  for (const s of specs) {
    if (!s.specHash) continue;
    const c = await readCommittedLock(head, s, options.channelAlias ? { channelAlias: options.channelAlias } : {});
    // A stale lock is not built, but one this PR wrote must obey the policy all the same.
    findings.push(...committedLockFindings(c, s, touched.has(committedLockPath(s.path))));
  }
  // A lock without a spec is never built: say so rather than let it look effective.
  const headFiles = new Set(await head.list());
  for (const p of changed) {
    const c = classifyPath(p);
    if (c.kind !== "lock" || !headFiles.has(p)) continue;
    const spec = specPath(c.ref);
    if (p !== committedLockPath(spec)) {
      findings.push({ file: p, line: 1, column: 1, rule: "lock.name", message: `committed locks are read from ${committedLockPath(spec)}; this file is never used`, severity: "warning" });
    } else if (!headFiles.has(spec)) {
      findings.push({ file: p, line: 1, column: 1, rule: "lock.orphan", message: `there is no ${spec}: this lock is never used`, severity: "warning" });
    }
  }
  return findings;
}
