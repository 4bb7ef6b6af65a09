/**
 * The GitHub calls the Action makes, and nothing more. `createGitHubClient` (client.ts) implements
 * it over `@octokit/rest`; tests may implement it directly.
 */

export type CommitStatusState = "pending" | "success" | "failure" | "error";

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface SetCommitStatusParams extends RepoRef {
  sha: string;
  state: CommitStatusState;
  /** e.g. `condaops/policy` */
  context: string;
  /** truncated to GitHub's 140 characters */
  description: string;
  targetUrl?: string;
}

export interface CommitStatus {
  id: number;
  state: CommitStatusState;
  context: string;
  description: string;
}

export interface FindCommentParams extends RepoRef {
  issueNumber: number;
  /** a hidden HTML comment such as `<!-- condaops:pr-report -->` */
  marker: string;
}

export interface UpsertCommentParams extends FindCommentParams {
  /** Markdown; the marker is prepended unless the body starts with it; over 65536 characters it is truncated with a note. */
  body: string;
}

export interface IssueComment {
  id: number;
  /** the comment's html_url */
  url: string;
  body: string;
  /** the author's login */
  user: string;
  createdAt: string;
  updatedAt: string;
}

export interface UpsertCommentResult {
  id: number;
  url: string;
  /** true when a new comment was posted, false when the existing one was edited in place */
  created: boolean;
}

export type ReviewState = "APPROVED" | "CHANGES_REQUESTED" | "COMMENTED" | "DISMISSED" | "PENDING";

export interface PullReview {
  id: number;
  /** the reviewer's login (`ghost` for a deleted account) */
  user: string;
  state: ReviewState;
  /** the head commit the review was submitted on */
  commitId: string;
  submittedAt?: string;
}

export interface PullParams extends RepoRef {
  pullNumber: number;
}

export interface PullInfo {
  number: number;
  headSha: string;
  baseSha: string;
  baseRef: string;
  headRef: string;
  /** the PR author's login */
  author: string;
}

export interface TeamMembershipParams {
  org: string;
  teamSlug: string;
  user: string;
}

export interface GitHubApi {
  setCommitStatus(params: SetCommitStatusParams): Promise<CommitStatus>;
  /** The first issue comment (oldest first) that starts with `marker` and was posted by a bot (or the configured author), or undefined. */
  findComment(params: FindCommentParams): Promise<IssueComment | undefined>;
  /** Creates the marked comment, or edits the existing one in place. */
  upsertComment(params: UpsertCommentParams): Promise<UpsertCommentResult>;
  /** Every review of the pull request, in API order (oldest first). */
  listReviews(params: PullParams): Promise<PullReview[]>;
  /** Whether `user` is an active member of `org/teamSlug` (a 404 is false). */
  isTeamMember(params: TeamMembershipParams): Promise<boolean>;
  getPull(params: PullParams): Promise<PullInfo>;
}
