/** renderReport: user-controlled text neither forges Markdown nor mentions anyone. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { REPORT_MARKER, md, renderReport } from "../../src/action/pr-report.ts";
import type { ApprovalStatus } from "../../src/action/approval-status.ts";

const approval: ApprovalStatus = {
  state: "pending",
  description: "waiting",
  requirements: [{ requirement: { event: "new-package", namespace: "ds", approvers: ["alice", "@acme/ds`team"], count: 1, reason: 'adds "@evil/team #7"', files: [] }, approvedBy: [], satisfied: false, teamsNotSeen: [] }],
};

test("a path or message with a backtick, a newline, a heading and mentions stays one inert line", () => {
  const hostile = "ds/a`\n## condaops: ✅ @org/team #123 GH-4";
  const body = renderReport({ findings: [{ file: `${hostile}.yaml`, line: 1, column: 1, rule: "x", message: hostile, severity: "error" }], policySource: "policy.yaml at main", approval, headSha: "a".repeat(40), version: "1" });
  assert.ok(body.startsWith(`${REPORT_MARKER}\n## condaops: ❌`));
  assert.equal(body.split("\n").filter((l) => /condaops:/.test(l) && l.startsWith("#")).length, 1, body);
  assert.ok(!/@org\/team|#123|GH-4|@evil\/team|#7\b/.test(body), body);
  // Approvers stay in code spans (no ping), even one with a backtick.
  assert.match(body, /`alice` or ``@acme\/ds`team``/);
  assert.equal(md("a\r\nb\u2028c"), "a b c");
});
