/**
 * The tree a pull request is judged against: policy.yaml from the base branch's tip (the rules in
 * force now, which the PR cannot loosen) and every other file from the merge base (what the PR
 * started from, so a change made on the base branch after the branch point is not shown as the
 * PR reverting it). A read-only composition of two FileTrees.
 */
import type { FileTree } from "../git/file-tree.ts";
import { POLICY_FILE } from "../spec/repo-layout.ts";

export function judgingTree(policyFrom: FileTree, rest: FileTree): FileTree {
  const pick = (path: string): FileTree => (path === POLICY_FILE ? policyFrom : rest);
  return {
    label: policyFrom.label,
    async list() {
      const files = (await rest.list()).filter((p) => p !== POLICY_FILE);
      if ((await policyFrom.size(POLICY_FILE)) !== undefined) files.push(POLICY_FILE);
      return files.sort();
    },
    read: (path) => pick(path).read(path),
    size: (path) => pick(path).size(path),
  };
}
