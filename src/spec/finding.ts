/**
 * A finding is one thing `validate` has to say about one place in one file. Schema errors,
 * policy violations and approval notes are all findings, so the CLI, `--json` and the GitHub
 * Action's annotations share one shape.
 */
import type { YamlPath, YamlSource } from "./yaml-source.ts";

export type Severity = "error" | "warning" | "notice";

export interface Finding {
  /** Path as the user names it (relative to the repository root where there is one). */
  file: string;
  /** 1-based; 1 when the finding is about the whole file. */
  line: number;
  /** 1-based */
  column: number;
  /** Stable rule id: `yaml.syntax`, `schema.type`, `policy.channel-not-allowed`, ... */
  rule: string;
  message: string;
  severity: Severity;
}

export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}:${f.column}: ${f.severity === "error" ? "" : `${f.severity}: `}${f.message}`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === "error");
}

/** A finding at a place of a parsed YAML file (a key with `which: "key"`). */
export function findingAt(source: YamlSource, path: YamlPath, rule: string, message: string, severity: Finding["severity"] = "error", which: "key" | "value" = "value"): Finding {
  const pos = source.locate(path, which);
  return { file: source.file, line: pos.line, column: pos.column, rule, message, severity };
}
