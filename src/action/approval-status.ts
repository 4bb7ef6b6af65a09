/**
 * Whether a pull request has the approvals its policy asks for. A reviewer counts when their
 * latest deciding review (APPROVED, CHANGES_REQUESTED or DISMISSED; a later COMMENTED review
 * changes nothing, as on GitHub) is APPROVED *on the current head*: pushing new commits makes
 * earlier approvals stale. The pull request's author never counts. `@org/team` approvers are
 * resolved through a membership lookup passed in, so this stays testable without the API.
 * GitHub answers "not a member" and "this token cannot see the org's teams" alike (404), so when
 * a team lookup said no and the requirement stays unmet, the status says the token may be blind.
 */
import type { ApprovalRequirement } from "../spec/approval.ts";

export interface ReviewFact {
  user: string;
  state: string;
  commitId: string;
}

export interface RequirementStatus {
  requirement: ApprovalRequirement;
  /** Reviewers whose approval on the head counts for this requirement. */
  approvedBy: string[];
  satisfied: boolean;
  /** `@org/team` approvers that a lookup said an approving reviewer is not in (or the token cannot see). */
  teamsNotSeen: string[];
}

export interface ApprovalStatus {
  state: "success" | "pending";
  requirements: RequirementStatus[];
  /** One line for the commit status (GitHub shows at most 140 characters). */
  description: string;
  /** Set when an unmet requirement names a team the token may not see (GITHUB_TOKEN cannot see org teams). */
  teamVisibility?: string;
}

/** Why a team approval may not count: said in the status (short) and the report (long). */
export const TEAM_VISIBILITY_SHORT = "the token may not see org teams (GITHUB_TOKEN cannot; use one with read:org)";
export const TEAM_VISIBILITY_NOTE =
  "the token may not see the members of org teams: GITHUB_TOKEN cannot, so a team member's approval looks like a stranger's. Give the Action a token that can (a personal access token with read:org, or a GitHub App with Members: read) as its token input.";

const DECIDING = new Set(["APPROVED", "CHANGES_REQUESTED", "DISMISSED"]);

/** Users whose latest deciding review approves `headSha`. */
export function approversOnHead(reviews: readonly ReviewFact[], headSha: string, author: string): string[] {
  const latest = new Map<string, ReviewFact>();
  for (const r of reviews) if (DECIDING.has(r.state)) latest.set(r.user.toLowerCase(), r);
  return [...latest.entries()].filter(([user, r]) => r.state === "APPROVED" && r.commitId === headSha && user !== author.toLowerCase()).map(([, r]) => r.user);
}

function parseTeam(approver: string): { org: string; team: string } | undefined {
  const m = /^@([^/\s]+)\/([^/\s]+)$/.exec(approver);
  return m ? { org: m[1] as string, team: m[2] as string } : undefined;
}

export async function approvalStatus(
  requirements: readonly ApprovalRequirement[],
  reviews: readonly ReviewFact[],
  opts: { headSha: string; author: string; isTeamMember(org: string, team: string, user: string): Promise<boolean> },
): Promise<ApprovalStatus> {
  const approved = approversOnHead(reviews, opts.headSha, opts.author);
  const statuses: RequirementStatus[] = [];
  for (const req of requirements) {
    const by: string[] = [];
    const notSeen = new Set<string>();
    for (const user of approved) {
      let counts = false;
      for (const a of req.approvers) {
        const team = parseTeam(a);
        if (team) {
          if (await opts.isTeamMember(team.org, team.team, user)) counts = true;
          else notSeen.add(a);
        } else if (a.replace(/^@/, "").toLowerCase() === user.toLowerCase()) counts = true;
        if (counts) break;
      }
      if (counts) by.push(user);
    }
    statuses.push({ requirement: req, approvedBy: by, satisfied: req.approvers.length > 0 && by.length >= req.count, teamsNotSeen: [...notSeen] });
  }
  const missing = statuses.filter((s) => !s.satisfied);
  const blind = missing.some((s) => s.teamsNotSeen.length > 0);
  let description =
    statuses.length === 0
      ? "no approval needed by policy"
      : missing.length === 0
        ? `approved by ${[...new Set(statuses.flatMap((s) => s.approvedBy))].join(", ")}`
        : `waiting for ${missing.map((s) => (s.requirement.approvers.length ? s.requirement.approvers.join(" or ") : `owners of ${s.requirement.namespace ?? "the repository"} (policy names none)`)).join("; ")}`;
  const room = blind ? 140 - TEAM_VISIBILITY_SHORT.length - 2 : 140;
  if (description.length > room) description = `${description.slice(0, room - 3)}...`;
  if (blind) description = `${description}; ${TEAM_VISIBILITY_SHORT}`;
  return { state: missing.length === 0 ? "success" : "pending", requirements: statuses, description, ...(blind ? { teamVisibility: TEAM_VISIBILITY_NOTE } : {}) };
}
