/**
 * The one comment condaops keeps on a pull request, rewritten in place on every push (found by
 * its hidden marker): the policy verdict with every finding, the resolved package diff of each
 * changed environment (what IT reviews instead of a YAML diff), and whose approval is pending.
 * Pure: data in, Markdown out.
 */
import { formatDiffMarkdown, isEmptyDiff } from "../builder/lock/diff.ts";
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

/** Text inside a table cell or list item: no Markdown or HTML from user input gets interpreted. */
function md(s: string): string {
  return s.replace(/[\\`*_[\]<>|~]/g, (c) => `\\${c}`).replace(/^#/, "\\#").replace(/\r?\n/g, " ");
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
  for (const f of input.findings) out.push(`- ${ICON[f.severity as keyof typeof ICON] ?? ""} \`${f.file}:${f.line}:${f.column}\` ${md(f.message)}`);
  if (input.findings.length) out.push("");

  if (input.diffs) {
    if (input.diffs.length === 0) out.push("No environment changed.", "");
    for (const d of input.diffs) {
      const title = `${d.namespace}/${d.name} (${d.change === "added" ? "new environment" : d.change === "removed" ? "removed" : "changed"})`;
      if (d.error) {
        out.push(`### ❌ ${md(title)}`, "", "The spec cannot be solved:", "", "```", d.error.replace(/```/g, "'''"), "```", "");
        continue;
      }
      if (!d.diff) continue;
      if (d.baseNote) out.push(`> ${md(d.baseNote)}`, "");
      out.push(isEmptyDiff(d.diff) ? `### ${md(title)}\n\nNo package changes.\n` : formatDiffMarkdown(d.diff, { title: md(title) }));
    }
  } else if (input.diffsSkipped) {
    out.push(`_Package diff not computed: ${md(input.diffsSkipped)}_`, "");
  }

  if (input.approval.requirements.length > 0) {
    out.push("**Approval**", "");
    for (const s of input.approval.requirements) {
      const who = s.requirement.approvers.length ? s.requirement.approvers.map((a) => `\`${a}\``).join(" or ") : "nobody (the policy names no owners here: add some)";
      const state = s.satisfied ? `✅ approved by ${s.approvedBy.map(md).join(", ")}` : `⏳ needs ${s.requirement.count} approval${s.requirement.count === 1 ? "" : "s"} from ${who}${s.approvedBy.length ? ` (so far: ${s.approvedBy.map(md).join(", ")})` : ""}`;
      out.push(`- ${md(s.requirement.reason)}: ${state}`);
    }
    out.push("", "<sub>Approvals count on the current head commit only; a new push needs them again.</sub>", "");
  }
  out.push(`<sub>condaops ${md(input.version)} · head ${input.headSha.slice(0, 12)}</sub>`);
  return `${out.join("\n")}\n`;
}
