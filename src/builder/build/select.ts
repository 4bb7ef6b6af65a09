/**
 * Which environments a commit builds: the ones named, all of them, or (the default) those whose
 * effective spec changed since the commit's first parent. Comparing effective-spec hashes rather
 * than file names means a policy change rebuilds exactly what it affects, a comment-only edit
 * rebuilds nothing, and a changed committed lock rebuilds its environment. Pure over FileTrees.
 */
import { UsageError } from "../../errors.ts";
import type { FileTree } from "../../git/file-tree.ts";
import { hasErrors } from "../../spec/finding.ts";
import type { Finding } from "../../spec/finding.ts";
import { policyFor } from "../../spec/policy.ts";
import { POLICY_FILE, classifyPath, specPath } from "../../spec/repo-layout.ts";
import type { BuildSettings, EffectiveSpec, EnvironmentRef } from "../../spec/types.ts";
import { validateRepository } from "../../spec/validate-repo.ts";
import type { BuildReason } from "../../store/types.ts";

export interface BuildTarget extends EnvironmentRef {
  path: string;
  effective: EffectiveSpec;
  specHash: string;
  settings: BuildSettings;
  reason: BuildReason;
}

/** A spec the commit asks to build that cannot be: schema or policy errors (merged anyway, or a broken policy). */
export interface RejectedSpec extends EnvironmentRef {
  path: string;
  findings: Finding[];
}

export interface Selection {
  targets: BuildTarget[];
  rejected: RejectedSpec[];
  /** Specs the commit deleted. */
  removed: EnvironmentRef[];
}

export interface SelectOptions {
  /** The first parent's tree and the paths changed since it; absent for a root commit (everything is new). */
  parent?: { tree: FileTree; changed: readonly string[] };
  all?: boolean;
  named?: readonly EnvironmentRef[];
}

const specsOf = (paths: readonly string[]): string[] => paths.filter((p) => classifyPath(p).kind === "spec");

export async function selectEnvironments(head: FileTree, options: SelectOptions): Promise<Selection> {
  const headPaths = await head.list();
  const headSpecs = specsOf(headPaths);
  const present = new Set(headSpecs);
  const removed: EnvironmentRef[] = [];
  let candidates: string[];
  let reason: BuildReason;
  const lockChanged = new Set<string>();

  if (options.named && options.named.length > 0) {
    reason = "named";
    candidates = options.named.map((r) => specPath(r));
    const missing = candidates.filter((p) => !present.has(p));
    if (missing.length > 0) {
      throw new UsageError("build.unknown-environment", `${missing.map((p) => p.replace(/\.yaml$/, "")).join(", ")} ${missing.length === 1 ? "is" : "are"} not in ${head.label}`, {
        hint: "name environments as <namespace>/<name>, as in the repository's <namespace>/<name>.yaml",
      });
    }
  } else if (options.all || !options.parent) {
    reason = options.all ? "all" : "changed";
    candidates = headSpecs;
  } else {
    reason = "changed";
    const changed = options.parent.changed;
    for (const p of changed) {
      const c = classifyPath(p);
      if (c.kind === "spec" && !present.has(p)) removed.push(c.ref);
      if (c.kind === "lock") lockChanged.add(specPath(c.ref));
    }
    // A policy change can change any effective spec; otherwise only the changed files can.
    candidates = changed.includes(POLICY_FILE) ? headSpecs : [...new Set([...specsOf(changed), ...lockChanged])].filter((p) => present.has(p));
  }

  const report = await validateRepository(head, { only: candidates });
  const policy = report.policy;
  const policyFindings = report.findings.filter((f) => f.file === POLICY_FILE);

  let parentHashes = new Map<string, string | undefined>();
  if (reason === "changed" && options.parent) {
    const inParent = new Set(await options.parent.tree.list());
    const before = await validateRepository(options.parent.tree, { only: candidates.filter((p) => inParent.has(p)) });
    parentHashes = new Map(before.specs.map((s) => [s.path, s.specHash]));
  }

  const targets: BuildTarget[] = [];
  const rejected: RejectedSpec[] = [];
  for (const s of report.specs) {
    const findings = [...policyFindings, ...report.findings.filter((f) => f.file === s.path)];
    if (!s.effective || !s.specHash || !policy || hasErrors(findings)) {
      rejected.push({ namespace: s.namespace, name: s.name, path: s.path, findings });
      continue;
    }
    if (reason === "changed" && options.parent && parentHashes.get(s.path) === s.specHash && !lockChanged.has(s.path)) continue;
    targets.push({ namespace: s.namespace, name: s.name, path: s.path, effective: s.effective, specHash: s.specHash, settings: policyFor(policy, s.namespace).build, reason });
  }
  return { targets, rejected, removed };
}
