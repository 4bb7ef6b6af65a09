/**
 * A pull request that edits policy.yaml is judged by the base's policy, but the admins who review
 * it need to see what the new policy does to the repository: every spec at the head validated with
 * the head's policy, and each finding the current policy does not give reported as a warning
 * ("with the new policy: ..."). Only for a valid new policy (an invalid one is already an error).
 * Nothing here fails the check.
 */
import type { FileTree } from "../git/file-tree.ts";
import type { Finding } from "../spec/finding.ts";
import { POLICY_FILE } from "../spec/repo-layout.ts";
import { loadPolicy, validateRepository } from "../spec/validate-repo.ts";
import { judgingTree } from "./judging-tree.ts";

export const NEW_POLICY_PREFIX = "with the new policy: ";

const key = (f: Finding): string => [f.file, f.line, f.column, f.rule, f.message].join("\0");

/** `currentPolicyFrom`: the tree whose policy.yaml is in force (the base branch's tip). */
export async function newPolicyWarnings(head: FileTree, currentPolicyFrom: FileTree): Promise<Finding[]> {
  const next = await loadPolicy(head);
  if (!next.policy || next.findings.length > 0) return [];
  const withNew = await validateRepository(head);
  const withCurrent = await validateRepository(judgingTree(currentPolicyFrom, head));
  const known = new Set(withCurrent.findings.map(key));
  return withNew.findings
    .filter((f) => f.file !== POLICY_FILE && (f.severity === "error" || f.severity === "warning") && !known.has(key(f)))
    .map((f) => ({ ...f, severity: "warning" as const, message: `${NEW_POLICY_PREFIX}${f.message}` }));
}
