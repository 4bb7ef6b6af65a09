/**
 * The GitHub Actions runner as the Action sees it: inputs, outputs, annotations on files, the job
 * summary, log lines and secrets to mask. The real one is @actions/core (the toolkit's own
 * workflow-command encoding, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files); tests pass a recorder.
 */
import * as core from "@actions/core";

export interface Annotation {
  file: string;
  line: number;
  column: number;
  title?: string;
}

export interface Runner {
  input(name: string): string;
  output(name: string, value: string): void;
  annotate(level: "error" | "warning" | "notice", message: string, at: Annotation): void;
  /** Appends Markdown to the job summary. */
  summary(markdown: string): Promise<void>;
  info(line: string): void;
  /** A warning in the log and on the run's page, not tied to a file. */
  warning(message: string): void;
  /** Never printed again: the runner masks it in every later log line. */
  secret(value: string): void;
}

export const actionsRunner: Runner = {
  input: (name) => core.getInput(name),
  output: (name, value) => core.setOutput(name, value),
  annotate(level, message, at) {
    const props = { file: at.file, startLine: at.line, startColumn: at.column, ...(at.title ? { title: at.title } : {}) };
    if (level === "error") core.error(message, props);
    else if (level === "warning") core.warning(message, props);
    else core.notice(message, props);
  },
  summary: async (markdown) => {
    if (!process.env.GITHUB_STEP_SUMMARY) return;
    await core.summary.addRaw(markdown, true).write();
  },
  info: (line) => core.info(line),
  warning: (message) => core.warning(message),
  secret: (value) => core.setSecret(value),
};
