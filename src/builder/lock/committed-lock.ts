/**
 * A lock committed next to its spec (`<ns>/<name>.lock.yml`) is built verbatim when its spec hash
 * matches (DESIGN.md), so validation reports a committed lock that is broken (error) or that no
 * longer matches its spec (warning: the builder will solve again instead).
 */
import { isCondaopsError } from "../../errors.ts";
import type { FileTree } from "../../git/file-tree.ts";
import type { Finding } from "../../spec/finding.ts";
import { parseCondaLock } from "./conda-lock-v1.ts";
import type { EffectiveSpec } from "../../spec/types.ts";
import { checkLockPolicy } from "./lock-policy.ts";
import type { LockPolicyOptions } from "./lock-policy.ts";
import type { Lock } from "./types.ts";

export function committedLockPath(specPath: string): string {
  return specPath.replace(/\.yaml$/, ".lock.yml");
}

/** True when every platform's content hash is the spec hash (what `condaops lock` writes). */
export function lockMatchesSpec(lock: Lock, specHash: string): boolean {
  const hashes = Object.values(lock.contentHash);
  return hashes.length > 0 && hashes.every((h) => h === specHash);
}

export async function checkCommittedLock(tree: FileTree, specPath: string, specHash: string): Promise<Finding | undefined> {
  const path = committedLockPath(specPath);
  const bytes = await tree.read(path);
  if (bytes === undefined) return undefined;
  let lock: Lock;
  try {
    lock = parseCondaLock(path, bytes.toString("utf8"));
  } catch (e) {
    if (!isCondaopsError(e) || e.exitCode !== 1) throw e;
    return { file: path, line: e.position?.line ?? 1, column: e.position?.column ?? 1, rule: "lock.invalid", message: e.message, severity: "error" };
  }
  if (lockMatchesSpec(lock, specHash)) return undefined;
  return {
    file: path,
    line: 1,
    column: 1,
    rule: "lock.stale",
    message: `the committed lock does not match ${specPath} (its spec changed, or the policy did); builds will solve again. Run: condaops lock ${specPath}`,
    severity: "warning",
  };
}

/**
 * Everything wrong with a spec's committed lock: unreadable (error), stale (warning: builds will
 * solve), or, when it matches and so would be built verbatim, breaking the policy (errors).
 */
export async function committedLockFindings(tree: FileTree, spec: { path: string; specHash?: string; effective?: EffectiveSpec }, options: LockPolicyOptions = {}): Promise<Finding[]> {
  if (!spec.specHash) return [];
  const f = await checkCommittedLock(tree, spec.path, spec.specHash);
  if (f) return [f];
  const path = committedLockPath(spec.path);
  const bytes = await tree.read(path);
  if (!bytes || !spec.effective) return [];
  return checkLockPolicy(parseCondaLock(path, bytes.toString("utf8")), spec.effective, path, options);
}
