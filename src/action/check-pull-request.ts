/**
 * `mode: check` on a pull request (and on its reviews): what a reviewer sees.
 *   1. the changed specs between the merge base and the head (a changed committed lock counts as
 *      a change of its environment), judged by the base tip's policy.yaml (a PR cannot loosen its
 *      own check) against the specs as they were at the merge base (judging-tree.ts); findings
 *      become annotations on the spec lines and the `condaops/policy` status. A PR that edits
 *      policy.yaml also gets warnings of what the new policy would reject.
 *   2. with `solve`, each changed environment solved at the merge base and the head and diffed
 *   3. the report: in the job summary always, and in one PR comment, updated in place
 *   4. the `condaops/approval` status: pending until every required approver's latest review
 *      approves the current head
 * The job fails when the policy check fails or a head spec is unsatisfiable; it succeeds while
 * only approval is pending (the status check is the gate).
 */
import { relative } from "node:path";
import { UsageError } from "../errors.ts";
import type { GitRepository } from "../git/repository.ts";
import { classifyPath } from "../spec/repo-layout.ts";
import type { Finding } from "../spec/finding.ts";
import { hasErrors } from "../spec/finding.ts";
import { validateRepository } from "../spec/validate-repo.ts";
import { DEFAULT_CONFIG_FILE } from "../config/index.ts";
import { POLICY_FILE } from "../spec/repo-layout.ts";
import { CONDAOPS_VERSION } from "../version.ts";
import { approvalStatus } from "./approval-status.ts";
import type { ApprovalStatus } from "./approval-status.ts";
import { checkChangedLocks, withSpecsOfChangedLocks } from "./committed-locks.ts";
import type { PullRequestRef } from "./event.ts";
import type { GitHubApi } from "./github/types.ts";
import { judgingTree } from "./judging-tree.ts";
import { newPolicyWarnings } from "./new-policy-preview.ts";
import { packageDiffs } from "./package-diffs.ts";
import type { EnvironmentDiff, SolveContext } from "./package-diffs.ts";
import { REPORT_MARKER, renderReport } from "./pr-report.ts";
import { APPROVAL_CONTEXT, POLICY_CONTEXT } from "./pull-request-writer.ts";
import type { PullRequestWriter } from "./pull-request-writer.ts";
import type { Runner } from "./runner.ts";

export { APPROVAL_CONTEXT, POLICY_CONTEXT };

export interface CheckOptions {
  repo: GitRepository;
  pull: PullRequestRef;
  api: GitHubApi;
  /** Statuses and the comment, tolerant of a token that may not write. */
  writer: PullRequestWriter;
  runner: Runner;
  /** Solve and diff (input `solve`); undefined turns it off. */
  solve?: SolveContext;
  /** The mirror in use (input `channel-alias` or the configuration): committed locks may point at it. */
  channelAlias?: string;
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

/** The full sha of a commit of the pull request, or a UsageError that says how to fetch it. */
export async function requireCommit(repo: GitRepository, sha: string, what: "head" | "base", pull: number): Promise<string> {
  try {
    return await repo.resolve(sha);
  } catch (e) {
    throw new UsageError("action.missing-commit", `the pull request's ${what} commit ${sha.slice(0, 12)} is not in the checkout`, {
      hint:
        what === "head"
          ? `check out with actions/checkout and fetch-depth: 0; on pull_request_target the checkout is the base branch: fetch the head too (git fetch origin refs/pull/${pull}/head)`
          : "check out with actions/checkout and fetch-depth: 0, so the base branch's history is there",
      cause: e,
    });
  }
}

export async function checkPullRequest(o: CheckOptions): Promise<CheckResult> {
  const { repo, pull, api, runner, writer } = o;
  // Annotations name paths from the git top level; the environments may live in a subfolder.
  const prefix = relative(repo.root, repo.dir).split("\\").join("/");
  const inRepo = (path: string) => (prefix ? `${prefix}/${path}` : path);

  await requireCommit(repo, pull.headSha, "head", pull.number);
  await requireCommit(repo, pull.baseSha, "base", pull.number);
  // What changed: from the merge base, as GitHub's "Files changed" shows it; a changed lock changes its environment.
  const mergeBase = await repo.mergeBase(pull.baseSha, pull.headSha);
  const touched = await repo.changedSince(mergeBase, pull.headSha);
  const changed = withSpecsOfChangedLocks(touched);
  const baseTip = await repo.tree(pull.baseSha);
  const headTree = await repo.tree(pull.headSha);
  // Judged by the base tip's policy, against the specs the PR started from.
  const before = judgingTree(baseTip, await repo.tree(mergeBase));
  const report = await validateRepository(headTree, { base: { tree: before, changed } });
  const basePolicyValid = report.policy !== undefined;
  const findings = [...report.findings, ...(await checkChangedLocks(headTree, report.specs, touched, o.channelAlias ? { channelAlias: o.channelAlias } : {}))];
  if (touched.includes(POLICY_FILE)) findings.push(...(await newPolicyWarnings(headTree, baseTip)));
  const changedSpecs = changed.filter((p) => classifyPath(p).kind === "spec");
  const changedEnvironments = changedSpecs.map((p) => p.replace(/\.yaml$/, ""));
  runner.info(`${changedSpecs.length} changed environment(s) between ${mergeBase.slice(0, 12)} and ${pull.headSha.slice(0, 12)}; ${report.policySource}`);

  for (const f of findings) runner.annotate(f.severity === "error" ? "error" : f.severity === "warning" ? "warning" : "notice", f.message, { file: inRepo(f.file), line: f.line, column: f.column, title: `condaops: ${f.rule}` });

  // Solve the merge base and the head of every changed environment.
  let diffs: EnvironmentDiff[] | undefined;
  let diffsSkipped: string | undefined;
  if (!o.solve) diffsSkipped = "solving is turned off (input solve: false)";
  else if (hasErrors(report.findings)) diffsSkipped = "fix the policy problems first";
  else {
    const inBase = new Set(await before.list());
    const base = await validateRepository(before, { only: changedSpecs.filter((p) => inBase.has(p)) });
    diffs = await packageDiffs({ tree: before, specs: base.specs }, { tree: headTree, specs: report.specs }, o.solve);
    for (const d of diffs.filter((x) => x.error)) runner.annotate("error", `cannot be solved: ${d.error?.split("\n")[0] ?? ""}`, { file: inRepo(d.path), line: 1, column: 1, title: "condaops: unsatisfiable" });
  }
  const unsat = (diffs ?? []).filter((d) => d.error).length;
  const errors = findings.filter((f) => f.severity === "error").length;
  const policyOk = errors === 0 && unsat === 0;
  await writer.status(
    POLICY_CONTEXT,
    policyOk ? "success" : "failure",
    policyOk ? `${changedSpecs.length} changed environment(s) pass policy` : [errors ? `${errors} policy error(s)` : "", unsat ? `${unsat} unsatisfiable spec(s)` : ""].filter(Boolean).join(", "),
  );

  // Approval, from the reviews on the current head; nobody can approve against a broken base policy.
  let approval: ApprovalStatus;
  if (!basePolicyValid) {
    approval = { state: "pending", requirements: [], description: "the base policy.yaml is invalid: fix it on the base branch first" };
  } else {
    const reviews = await api.listReviews({ owner: pull.owner, repo: pull.repo, pullNumber: pull.number });
    // The configuration (channel alias, credentials, what builds trust) governs as much as the
    // policy does: changing it needs the policy's admins too.
    const requirements = [...report.approvals];
    const configChanged = changed.filter((p) => p === DEFAULT_CONFIG_FILE);
    if (configChanged.length > 0) {
      const admins = report.policy?.admins ?? [];
      requirements.push({ event: "policy-change", approvers: admins, count: 1, reason: `changes ${DEFAULT_CONFIG_FILE}, the configuration builds use`, files: configChanged });
    }
    approval = await approvalStatus(requirements, reviews, {
      headSha: pull.headSha,
      author: pull.author,
      isTeamMember: (org, team, user) => api.isTeamMember({ org, teamSlug: team, user }),
    });
  }
  await writer.status(APPROVAL_CONTEXT, approval.state, approval.description);

  const body = renderReport({ findings, policySource: report.policySource, ...(diffs ? { diffs } : {}), ...(diffsSkipped ? { diffsSkipped } : {}), approval, headSha: pull.headSha, version: CONDAOPS_VERSION });
  await runner.summary(body);
  let commentUrl: string | undefined;
  if (o.comment) {
    const c = await writer.comment(REPORT_MARKER, body);
    if (c) {
      commentUrl = c.url;
      runner.info(`${c.created ? "commented" : "updated the comment"}: ${c.url}`);
    }
  }
  const result = !policyOk ? "failure" : approval.state === "pending" ? "pending" : "success";
  return { result, changedEnvironments, findings, ...(diffs ? { diffs } : {}), approval, ...(commentUrl ? { commentUrl } : {}) };
}
