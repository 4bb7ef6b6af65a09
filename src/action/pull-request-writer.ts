/**
 * Writing to the pull request: the `condaops/policy` and `condaops/approval` commit statuses and
 * the report comment. A token that may not write (on `pull_request`, a fork's token is read-only;
 * a workflow without `statuses: write`) gets 403: a warning, not a failed job, since the job
 * summary still carries the whole report and the exit code still follows the policy. At the start
 * both statuses go `pending`, so a crash or a cancelled job leaves a visible pending check, not
 * none; a failure after that sets both to `error` before the error propagates.
 */
import { isCondaopsError } from "../errors.ts";
import type { PullRequestRef } from "./event.ts";
import { isGitHubApiError } from "./github/client.ts";
import type { CommitStatusState, GitHubApi, UpsertCommentResult } from "./github/types.ts";
import type { Runner } from "./runner.ts";

export const POLICY_CONTEXT = "condaops/policy";
export const APPROVAL_CONTEXT = "condaops/approval";

export interface PullRequestWriter {
  status(context: string, state: CommitStatusState, description: string): Promise<void>;
  /** The comment, created or edited in place; undefined when the token may not write it. */
  comment(marker: string, body: string): Promise<UpsertCommentResult | undefined>;
  /** Both statuses `pending`: the check has started. */
  started(): Promise<void>;
  /** Both statuses `error`, after the check failed with `error` (never throws). */
  failed(error: unknown): Promise<void>;
}

export function pullRequestWriter(api: GitHubApi, pull: PullRequestRef, runner: Runner): PullRequestWriter {
  const target = { owner: pull.owner, repo: pull.repo };
  const blocked = { statuses: false, comment: false };
  const why = pull.fromFork
    ? "this pull request comes from a fork, and on pull_request its token is read-only"
    : "give the job `permissions: statuses: write` and `pull-requests: write`";

  /** Runs a write; a 403 is a warning (once per kind), and later writes of that kind are skipped. */
  async function write<T>(kind: keyof typeof blocked, what: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (blocked[kind]) return undefined;
    try {
      return await fn();
    } catch (e) {
      if (!isGitHubApiError(e) || e.status !== 403) throw e;
      blocked[kind] = true;
      runner.warning(`condaops cannot ${what} (${e.message}): ${why}. The full report is in the job summary.`);
      return undefined;
    }
  }

  const status = async (context: string, state: CommitStatusState, description: string): Promise<void> => {
    await write("statuses", "set commit statuses", () => api.setCommitStatus({ ...target, sha: pull.headSha, context, state, description }));
  };

  return {
    status,
    comment: (marker, body) => write("comment", "comment on the pull request", () => api.upsertComment({ ...target, issueNumber: pull.number, marker, body })),
    async started() {
      await status(POLICY_CONTEXT, "pending", "checking the changed environments");
      await status(APPROVAL_CONTEXT, "pending", "waiting for the policy check");
    },
    async failed(error) {
      const description = isCondaopsError(error) && error.exitCode === 3 ? "infrastructure failure (network, channel or GitHub API): see the job log" : "the check could not finish: see the job log";
      for (const context of [POLICY_CONTEXT, APPROVAL_CONTEXT]) {
        try {
          await status(context, "error", description);
        } catch (e) {
          runner.warning(`condaops could not set ${context} to error: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    },
  };
}
