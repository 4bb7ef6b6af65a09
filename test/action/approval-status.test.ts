/** approvalStatus: counts of distinct approvers, dismissed reviews, and a token blind to teams. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { approvalStatus } from "../../src/action/approval-status.ts";
import type { ReviewFact } from "../../src/action/approval-status.ts";
import type { ApprovalRequirement } from "../../src/spec/approval.ts";

const HEAD = "h".repeat(40);
const requirement = (approvers: string[], count = 1): ApprovalRequirement => ({ event: "any-change", namespace: "ds", approvers, count, reason: "changes ds/analysis", files: ["ds/analysis.yaml"] });
const review = (user: string, state: string, commitId = HEAD): ReviewFact => ({ user, state, commitId });
const noTeams = { headSha: HEAD, author: "dora", isTeamMember: async () => false };

test("count 2 needs two distinct approvers: one reviewer approving twice is one", async () => {
  const req = [requirement(["alice", "bob", "carol"], 2)];
  const once = await approvalStatus(req, [review("alice", "APPROVED"), review("alice", "APPROVED")], noTeams);
  assert.equal(once.state, "pending");
  assert.deepEqual(once.requirements[0]?.approvedBy, ["alice"]);
  assert.equal(once.requirements[0]?.satisfied, false);
  const authorToo = await approvalStatus([requirement(["alice", "dora"], 2)], [review("alice", "APPROVED"), review("dora", "APPROVED")], noTeams);
  assert.equal(authorToo.state, "pending", "the author's own approval never counts");
  const twice = await approvalStatus(req, [review("alice", "APPROVED"), review("Bob", "APPROVED")], noTeams);
  assert.equal(twice.state, "success");
  assert.deepEqual(twice.requirements[0]?.approvedBy.sort(), ["Bob", "alice"]);
  assert.match(twice.description, /approved by/);
});

test("a DISMISSED review removes the approval; a later COMMENTED review changes nothing", async () => {
  const req = [requirement(["alice"])];
  assert.equal((await approvalStatus(req, [review("alice", "APPROVED")], noTeams)).state, "success");
  const dismissed = await approvalStatus(req, [review("alice", "APPROVED"), review("alice", "DISMISSED")], noTeams);
  assert.equal(dismissed.state, "pending");
  assert.deepEqual(dismissed.requirements[0]?.approvedBy, []);
  assert.equal((await approvalStatus(req, [review("alice", "APPROVED"), review("alice", "COMMENTED")], noTeams)).state, "success");
  assert.equal((await approvalStatus(req, [review("alice", "DISMISSED"), review("alice", "APPROVED")], noTeams)).state, "success", "approving again counts");
});

test("a team lookup that says no, with the requirement unmet, warns that the token may not see teams", async () => {
  const req = [requirement(["@acme/ds-team"])];
  const blind = await approvalStatus(req, [review("bob", "APPROVED")], noTeams);
  assert.equal(blind.state, "pending");
  assert.match(blind.description, /^waiting for @acme\/ds-team; the token may not see org teams/);
  assert.ok(blind.description.length <= 140);
  assert.match(blind.teamVisibility ?? "", /GITHUB_TOKEN cannot/);
  assert.deepEqual(blind.requirements[0]?.teamsNotSeen, ["@acme/ds-team"]);
  // No approving reviewer, so no lookup: no warning. A met requirement: no warning either.
  assert.equal((await approvalStatus(req, [], noTeams)).teamVisibility, undefined);
  const either = await approvalStatus([requirement(["alice", "@acme/ds-team"])], [review("alice", "APPROVED"), review("bob", "APPROVED")], noTeams);
  assert.equal(either.state, "success");
  assert.equal(either.teamVisibility, undefined);
  assert.doesNotMatch(either.description, /org teams/);
  // A long list of approvers is cut, the warning kept.
  const many = await approvalStatus([requirement([...Array.from({ length: 20 }, (_, i) => `owner-number-${i}`), "@acme/ds-team"])], [review("bob", "APPROVED")], noTeams);
  assert.ok(many.description.length <= 140, many.description);
  assert.match(many.description, /\.\.\.; the token may not see org teams/);
});
