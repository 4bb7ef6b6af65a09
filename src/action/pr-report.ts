/**
 * The one comment condaops keeps on a pull request, rewritten in place on every push (found by
 * its hidden marker): the policy verdict with every finding, the resolved package diff of each
 * changed environment (what IT reviews instead of a YAML diff), and whose approval is pending.
 * Everything a pull request controls (file paths, spec text inside messages, package names of a
 * committed lock) is escaped and stays on its line, and its `@mentions` / `#123` references are
 * broken with a zero-width joiner, so the report neither forges headings nor pings anyone.
 * Pure: data in, Markdown out.
 */
import { formatDiffMarkdown, isEmptyDiff } from "../builder/lock/diff.ts";
import { markdownText, neutralize } from "../markdown.ts";
import type { Finding } from "../spec/finding.ts";
import type { ApprovalStatus } from "./approval-status.ts";
import type { EnvironmentDiff } from "./package-diffs.ts";

export const REPORT_MARKER = "<!-- condaops:pr-report -->";

export interface ReportInput {
  findings: readonly Finding[];
  policySource: string;
  diffs?: readonly EnvironmentDiff[];
  /** Why no diffs are shown (solving turned off, or policy failed first). */
  diffsSkipped?: string;
  approval: ApprovalStatus;
  headSha: string;
  version: string;
}

/** User text in the report: see src/markdown.ts. */
export const md = markdownText;

/** A code span that holds any text: a fence longer than any backtick run inside, one line. */
function code(s: string): string {
  const t = s.replace(/[\r\n\u2028\u2029]+/g, " ");
  const fence = "`".repeat(Math.max(0, ...[...t.matchAll(/`+/g)].map((m) => m[0].length)) + 1);
  const pad = t.startsWith("`") || t.endsWith("`") ? " " : "";
  return `${fence}${pad}${t}${pad}${fence}`;
}

const ICON = { error: "❌", warning: "⚠️", info: "ℹ️" } as const;

export function renderReport(input: ReportInput): string {
  const errors = input.findings.filter((f) => f.severity === "error");
  const unsat = (input.diffs ?? []).filter((d) => d.error);
  const policyOk = errors.length === 0 && unsat.length === 0;
  const verdict = [policyOk ? "✅ policy passes" : `❌ ${errors.length + unsat.length} problem${errors.length + unsat.length === 1 ? "" : "s"}`, input.approval.state === "success" ? (input.approval.requirements.length ? "✅ approved" : "no approval needed") : "⏳ approval pending"].join(" · ");
  const out = [REPORT_MARKER, `## condaops: ${verdict}`, ""];

  out.push(`**Policy** (judged by ${md(input.policySource)})`, "");
  if (input.findings.length === 0) out.push("Every changed spec passes the schema and the policy.", "");
  for (const f of input.findings) out.push(`- ${ICON[f.severity as keyof typeof ICON] ?? ""} **${md(`${f.file}:${f.line}:${f.column}`)}** ${md(f.message)}`);
  if (input.findings.length) out.push("");

  if (input.diffs) {
    if (input.diffs.length === 0) out.push("No environment changed.", "");
    for (const d of input.diffs) {
      const title = `${d.namespace}/${d.name} (${d.change === "added" ? "new environment" : d.change === "removed" ? "removed" : "changed"})`;
      if (d.error) {
        out.push(`### ❌ ${md(title)}`, "", "The spec cannot be solved:", "", "```", neutralize(d.error.replace(/`{3,}|~{3,}/g, "'''")), "```", "");
        continue;
      }
      if (!d.diff) continue;
      if (d.baseNote) out.push(`> ${md(d.baseNote)}`, "");
      // Package names and versions can come from a committed lock, which the PR controls: escaped by the formatter, un-mentioned here.
      out.push(isEmptyDiff(d.diff) ? `### ${md(title)}\n\nNo package changes.\n` : neutralize(formatDiffMarkdown(d.diff, { title: md(title) })));
    }
  } else if (input.diffsSkipped) {
    out.push(`_Package diff not computed: ${md(input.diffsSkipped)}_`, "");
  }

  if (input.approval.requirements.length === 0 && input.approval.state === "pending") {
    out.push("**Approval**", "", `- ⏳ ${md(input.approval.description)}`, "");
  }
  if (input.approval.requirements.length > 0) {
    out.push("**Approval**", "");
    for (const s of input.approval.requirements) {
      // In code spans: naming an approver must not ping them (or a whole team) on every push.
      const who = s.requirement.approvers.length ? s.requirement.approvers.map(code).join(" or ") : "nobody (the policy names no owners here: add some)";
      const state = s.satisfied ? `✅ approved by ${s.approvedBy.map(md).join(", ")}` : `⏳ needs ${s.requirement.count} approval${s.requirement.count === 1 ? "" : "s"} from ${who}${s.approvedBy.length ? ` (so far: ${s.approvedBy.map(md).join(", ")})` : ""}`;
      out.push(`- ${md(s.requirement.reason)}: ${state}`);
    }
    if (input.approval.teamVisibility) out.push("", `> ⚠️ ${md(input.approval.teamVisibility)}`);
    out.push("", "<sub>Approvals count on the current head commit only; a new push needs them again.</sub>", "");
  }
  out.push(`<sub>condaops ${md(input.version)} · head ${md(input.headSha.slice(0, 12))}</sub>`);
  return `${out.join("\n")}\n`;
}
