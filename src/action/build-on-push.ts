/**
 * `mode: build` on a push to the default branch: the CI-driven builder. Runs the same build job
 * as `condaops build` for the pushed commit, recording into the configured PostgreSQL and
 * publishing to the configured storage, and lists each build in the job summary.
 */
import type { Config } from "../config/index.ts";
import { UsageError } from "../errors.ts";
import { buildCommit } from "../builder/build/build-commit.ts";
import type { CommitBuildReport } from "../builder/build/build-commit.ts";
import { openBuildServices } from "../builder/build/open-services.ts";
import { openRepositorySource } from "../builder/build/repository-source.ts";
import { lineProgress } from "../builder/progress.ts";
import type { Runner } from "./runner.ts";

export interface BuildOnPushOptions {
  repoDir: string;
  sha: string;
  config: Config;
  runner: Runner;
}

function md(s: string): string {
  return s.replace(/[\\`*_{}[\]<>()#+!|~]/g, (c) => `\\${c}`);
}

export function buildSummary(report: CommitBuildReport, artifactLinks: Map<number, { kind: string; url: string }[]>): string {
  const lines = [`### condaops builds for ${report.commit.sha.slice(0, 12)}`, "", `${md(report.commit.message.split("\n")[0] ?? "")}`, ""];
  const all = [...report.retried, ...report.results];
  if (all.length === 0) lines.push("No environment changed in this commit.");
  else {
    lines.push("| environment | state | environment hash | packages | artifacts |", "|---|---|---|---|---|");
    for (const r of all) {
      const links = (r.build ? (artifactLinks.get(r.build.id) ?? []) : []).map((a) => `[${md(a.kind)}](${a.url})`).join(" · ");
      const state = r.state === "succeeded" ? "✅ succeeded" : r.state === "failed" || r.state === "rejected" ? `❌ ${r.state}` : r.state;
      lines.push(`| ${md(`${r.namespace}/${r.name}`)} | ${state}${r.existing ? " (already built)" : ""} | \`${(r.build?.environmentHash ?? "").slice(0, 12)}\` | ${r.packages ?? ""} | ${links} |`);
    }
    for (const r of all.filter((x) => x.error && x.state !== "succeeded")) lines.push("", `**${md(`${r.namespace}/${r.name}`)}**: ${md(r.error?.split("\n")[0] ?? "")}`);
  }
  for (const r of report.removed) lines.push("", `${md(`${r.namespace}/${r.name}`)} removed by this commit.`);
  return `${lines.join("\n")}\n`;
}

export async function buildOnPush(o: BuildOnPushOptions): Promise<{ report: CommitBuildReport; failed: number }> {
  if (!o.config.database.url) {
    throw new UsageError("action.build-needs-database", "mode: build needs database.url: builds must be recorded in a PostgreSQL that outlives the runner", {
      hint: "set database.url_env in the config (e.g. a secret exported as CONDAOPS_DATABASE_URL)",
    });
  }
  o.runner.secret(o.config.database.url);
  const log = (l: string) => o.runner.info(l);
  const services = await openBuildServices(o.config, { log, progress: (l) => lineProgress(l) });
  try {
    const source = await openRepositorySource(o.repoDir, o.config.cacheDir, log);
    const report = await buildCommit(services, source, { ref: o.sha });
    const links = new Map<number, { kind: string; url: string }[]>();
    for (const r of [...report.retried, ...report.results]) {
      if (!r.build) continue;
      const arts = await services.store.listArtifacts(r.build.id);
      links.set(r.build.id, await Promise.all(arts.map(async (a) => ({ kind: a.platform ? `${a.kind} (${a.platform})` : a.kind, url: await services.blobs.downloadUrl(a.key) }))));
    }
    await o.runner.summary(buildSummary(report, links));
    const failed = [...report.retried, ...report.results].filter((r) => r.state !== "succeeded").length;
    return { report, failed };
  } finally {
    await services.close();
  }
}
