/**
 * Text from specs, locks and paths (input a pull request author controls) placed into Markdown
 * that GitHub renders: the package-diff tables, the PR report, the job summary. One line, no
 * Markdown or HTML interpreted, and nobody notified.
 */

const ZWJ = "\u200d";

/** Breaks GitHub's autolinks that notify: `@user`, `@org/team`, `#123`, `GH-123` (and `owner/repo#123`). */
export function neutralize(s: string): string {
  return s.replace(/@(?=[\p{L}\p{N}_-])/gu, `@${ZWJ}`).replace(/#(?=\p{N})/gu, `#${ZWJ}`).replace(/\b(GH)-(?=\p{N})/giu, `$1${ZWJ}-`);
}

/** Text for a table cell, list item or heading: HTML as entities, Markdown punctuation escaped, one line, no mentions. */
export function markdownText(s: string): string {
  return neutralize(
    s
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/([\\`*_[\]|~#!])/g, "\\$1")
      .replace(/[\r\n\u2028\u2029]+/g, " "),
  );
}
