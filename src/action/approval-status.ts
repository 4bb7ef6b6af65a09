/**
 * Whether a pull request has the approvals its policy asks for. A reviewer counts when their
 * latest deciding review (APPROVED, CHANGES_REQUESTED or DISMISSED; a later COMMENTED review
 * changes nothing, as on GitHub) is APPROVED *on the current head*: pushing new commits makes
 * earlier approvals stale. The pull request's author never counts. `@org/team` approvers are
 * resolved through a membership lookup passed in, so this stays testable without the API.
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
}

export interface ApprovalStatus {
  state: "success" | "pending";
  requirements: RequirementStatus[];
  /** One line for the commit status (GitHub shows at most 140 characters). */
  description: string;
}

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
    for (const user of approved) {
      let counts = false;
      for (const a of req.approvers) {
        const team = parseTeam(a);
        if (team ? await opts.isTeamMember(team.org, team.team, user) : a.replace(/^@/, "").toLowerCase() === user.toLowerCase()) {
          counts = true;
          break;
        }
      }
      if (counts) by.push(user);
    }
    statuses.push({ requirement: req, approvedBy: by, satisfied: req.approvers.length > 0 && by.length >= req.count });
  }
  const missing = statuses.filter((s) => !s.satisfied);
  const description =
    statuses.length === 0
      ? "no approval needed by policy"
      : missing.length === 0
        ? `approved by ${[...new Set(statuses.flatMap((s) => s.approvedBy))].join(", ")}`
        : `waiting for ${missing.map((s) => (s.requirement.approvers.length ? s.requirement.approvers.join(" or ") : `owners of ${s.requirement.namespace ?? "the repository"} (policy names none)`)).join("; ")}`;
  return { state: missing.length === 0 ? "success" : "pending", requirements: statuses, description: description.length > 140 ? `${description.slice(0, 137)}...` : description };
}
