/**
 * A lock committed next to its spec (`<ns>/<name>.lock.yml`) is built verbatim when its spec hash
 * matches and it obeys the policy (DESIGN.md). Read here once, for everyone who needs to know:
 * the builder (use it or solve), the Action (diff it, report it) and `validate` (report it).
 */
import { isCondaopsError } from "../../errors.ts";
import type { FileTree } from "../../git/file-tree.ts";
import type { Finding } from "../../spec/finding.ts";
import type { EffectiveSpec } from "../../spec/types.ts";
import { parseCondaLock } from "./conda-lock-v1.ts";
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

export interface SpecForLock {
  path: string;
  specHash?: string;
  effective?: EffectiveSpec;
}

export type CommittedLock =
  | { kind: "none" }
  | { kind: "unreadable"; path: string; finding: Finding }
  /** `matches`: its spec hash is the spec's; `policy`: what it breaks (checked whatever `matches` says). */
  | { kind: "found"; path: string; lock: Lock; text: string; matches: boolean; policy: Finding[] };

export async function readCommittedLock(tree: FileTree, spec: SpecForLock, options: LockPolicyOptions = {}): Promise<CommittedLock> {
  const path = committedLockPath(spec.path);
  const bytes = await tree.read(path);
  if (bytes === undefined) return { kind: "none" };
  const text = bytes.toString("utf8");
  let lock: Lock;
  try {
    lock = parseCondaLock(path, text);
  } catch (e) {
    if (!isCondaopsError(e) || e.exitCode !== 1) throw e;
    return { kind: "unreadable", path, finding: { file: path, line: e.position?.line ?? 1, column: e.position?.column ?? 1, rule: "lock.invalid", message: e.message, severity: "error" } };
  }
  const matches = spec.specHash !== undefined && lockMatchesSpec(lock, spec.specHash);
  return { kind: "found", path, lock, text, matches, policy: spec.effective ? checkLockPolicy(lock, spec.effective, path, options) : [] };
}

/** The lock a build installs verbatim, if this is one. */
export function verbatimLock(c: CommittedLock): { lock: Lock; text: string } | undefined {
  return c.kind === "found" && c.matches && c.policy.length === 0 ? { lock: c.lock, text: c.text } : undefined;
}

/**
 * What to report about a committed lock: unreadable (error), stale (warning: builds will solve
 * again), and, when it matches and so would be built verbatim, what it breaks (errors).
 * `policyEvenIfStale`: a lock a pull request just wrote must obey the policy all the same.
 */
export function committedLockFindings(c: CommittedLock, spec: SpecForLock, policyEvenIfStale = false): Finding[] {
  if (c.kind === "none") return [];
  if (c.kind === "unreadable") return [c.finding];
  if (c.matches) return c.policy;
  const stale: Finding = {
    file: c.path,
    line: 1,
    column: 1,
    rule: "lock.stale",
    message: `the committed lock does not match ${spec.path} (its spec changed, or the policy did); builds will solve again. Run: condaops lock ${spec.path}`,
    severity: "warning",
  };
  return [stale, ...(policyEvenIfStale ? c.policy : [])];
}
