/**
 * `mode: check` on a pull request (and on its reviews): what a reviewer sees.
 *   1. the changed specs between the merge base and the head, judged by the BASE's policy.yaml
 *      (a PR cannot loosen its own check); findings become annotations on the spec lines and
 *      the `condaops/policy` status
 *   2. with `solve`, each changed environment solved at base and head and diffed
 *   3. one PR comment, updated in place, with the verdict, the diffs and the approvals
 *   4. the `condaops/approval` status: pending until every required approver's latest review
 *      approves the current head
 * The job fails when the policy check fails or a head spec is unsatisfiable; it succeeds while
 * only approval is pending (the status check is the gate).
 */
import { relative } from "node:path";
import type { GitRepository } from "../git/repository.ts";
import { checkCommittedLock } from "../builder/lock/committed-lock.ts";
import { classifyPath } from "../spec/repo-layout.ts";
import type { Finding } from "../spec/finding.ts";
import { hasErrors } from "../spec/finding.ts";
import { validateRepository } from "../spec/validate-repo.ts";
import { CONDAOPS_VERSION } from "../version.ts";
import { approvalStatus } from "./approval-status.ts";
import type { ApprovalStatus } from "./approval-status.ts";
import type { PullRequestRef } from "./event.ts";
import type { GitHubApi } from "./github/types.ts";
import { packageDiffs } from "./package-diffs.ts";
import type { EnvironmentDiff, SolveContext } from "./package-diffs.ts";
import { REPORT_MARKER, renderReport } from "./pr-report.ts";
import type { Runner } from "./runner.ts";

export const POLICY_CONTEXT = "condaops/policy";
export const APPROVAL_CONTEXT = "condaops/approval";

export interface CheckOptions {
  repo: GitRepository;
  pull: PullRequestRef;
  api: GitHubApi;
  runner: Runner;
  /** Solve and diff (input `solve`); undefined turns it off. */
  solve?: SolveContext;
  comment: boolean;
}

export interface CheckResult {
  result: "success" | "failure" | "pending";
  changedEnvironments: string[];
  findings: Finding[];
  diffs?: EnvironmentDiff[];
  approval: ApprovalStatus;
  commentUrl?: string;
}

export async function checkPullRequest(o: CheckOptions): Promise<CheckResult> {
  const { repo, pull, api, runner } = o;
  const target = { owner: pull.owner, repo: pull.repo };
  // Annotations name paths from the git top level; the environments may live in a subfolder.
  const prefix = relative(repo.root, repo.dir).split("\\").join("/");
  const inRepo = (path: string) => (prefix ? `${prefix}/${path}` : path);

  // What changed: from the merge base, as GitHub's "Files changed" shows it; judged by the base tip's policy.
  const mergeBase = await repo.mergeBase(pull.baseSha, pull.headSha);
  const changed = await repo.changedSince(mergeBase, pull.headSha);
  const baseTree = await repo.tree(pull.baseSha);
  const headTree = await repo.tree(pull.headSha);
  const report = await validateRepository(headTree, { base: { tree: baseTree, changed } });
  const findings = [...report.findings];
  for (const s of report.specs) {
    const f = s.specHash ? await checkCommittedLock(headTree, s.path, s.specHash) : undefined;
    if (f) findings.push(f);
  }
  const changedSpecs = changed.filter((p) => classifyPath(p).kind === "spec");
  const changedEnvironments = changedSpecs.map((p) => p.replace(/\.yaml$/, ""));
  runner.info(`${changedSpecs.length} changed spec(s) between ${mergeBase.slice(0, 12)} and ${pull.headSha.slice(0, 12)}; ${report.policySource}`);

  for (const f of findings) runner.annotate(f.severity === "error" ? "error" : f.severity === "warning" ? "warning" : "notice", f.message, { file: inRepo(f.file), line: f.line, column: f.column, title: `condaops: ${f.rule}` });

  // Solve base and head of every changed environment.
  let diffs: EnvironmentDiff[] | undefined;
  let diffsSkipped: string | undefined;
  if (!o.solve) diffsSkipped = "solving is turned off (input solve: false)";
  else if (hasErrors(report.findings)) diffsSkipped = "fix the policy problems first";
  else {
    const inBase = new Set(await baseTree.list());
    const base = await validateRepository(baseTree, { only: changedSpecs.filter((p) => inBase.has(p)) });
    diffs = await packageDiffs({ tree: baseTree, specs: base.specs }, { tree: headTree, specs: report.specs }, o.solve);
    for (const d of diffs.filter((x) => x.error)) runner.annotate("error", `cannot be solved: ${d.error?.split("\n")[0] ?? ""}`, { file: inRepo(d.path), line: 1, column: 1, title: "condaops: unsatisfiable" });
  }
  const unsat = (diffs ?? []).filter((d) => d.error).length;
  const errors = findings.filter((f) => f.severity === "error").length;
  const policyOk = errors === 0 && unsat === 0;
  await api.setCommitStatus({
    ...target,
    sha: pull.headSha,
    context: POLICY_CONTEXT,
    state: policyOk ? "success" : "failure",
    description: policyOk ? `${changedSpecs.length} changed environment(s) pass policy` : [errors ? `${errors} policy error(s)` : "", unsat ? `${unsat} unsatisfiable spec(s)` : ""].filter(Boolean).join(", "),
  });

  // Approval, from the reviews on the current head.
  const reviews = await api.listReviews({ ...target, pullNumber: pull.number });
  const approval = await approvalStatus(report.approvals, reviews, {
    headSha: pull.headSha,
    author: pull.author,
    isTeamMember: (org, team, user) => api.isTeamMember({ org, teamSlug: team, user }),
  });
  await api.setCommitStatus({ ...target, sha: pull.headSha, context: APPROVAL_CONTEXT, state: approval.state, description: approval.description });

  let commentUrl: string | undefined;
  if (o.comment) {
    const body = renderReport({ findings, policySource: report.policySource, ...(diffs ? { diffs } : {}), ...(diffsSkipped ? { diffsSkipped } : {}), approval, headSha: pull.headSha, version: CONDAOPS_VERSION });
    const c = await api.upsertComment({ ...target, issueNumber: pull.number, marker: REPORT_MARKER, body });
    commentUrl = c.url;
    runner.info(`${c.created ? "commented" : "updated the comment"}: ${c.url}`);
  }
  const result = !policyOk ? "failure" : approval.state === "pending" ? "pending" : "success";
  return { result, changedEnvironments, findings, ...(diffs ? { diffs } : {}), approval, ...(commentUrl ? { commentUrl } : {}) };
}
