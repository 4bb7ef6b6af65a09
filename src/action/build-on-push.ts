/**
 * `mode: build` on a push to the default branch: the CI-driven builder. Runs the same build job
 * as `condaops build` for the pushed commit, recording into the configured PostgreSQL and
 * publishing to the configured storage, and lists each build in the job summary.
 */
import type { Config } from "../config/index.ts";
import { UsageError } from "../errors.ts";
import { isAbsolute, relative, resolve } from "node:path";
import { markdownText as md } from "../markdown.ts";
import { buildCommit, commitsToBuild } from "../builder/build/build-commit.ts";
import type { CommitBuildReport } from "../builder/build/build-commit.ts";
import { openBuildServices } from "../builder/build/open-services.ts";
import { publishedArtifacts } from "../builder/build/published-artifacts.ts";
import { openRepositorySource } from "../builder/build/repository-source.ts";
import { lineProgress } from "../builder/progress.ts";
import type { Runner } from "./runner.ts";

export interface BuildOnPushOptions {
  repoDir: string;
  sha: string;
  config: Config;
  runner: Runner;
  env?: NodeJS.ProcessEnv;
  /** What the database records the repository as: its URL on GitHub, not the runner's checkout path. */
  identity?: string;
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

/** Folders that vanish with the runner: a build published there would leave rows pointing at nothing. */
function ephemeral(path: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const [name, dir] of [["GITHUB_WORKSPACE", env.GITHUB_WORKSPACE], ["RUNNER_TEMP", env.RUNNER_TEMP]] as const) {
    if (!dir) continue;
    const rel = relative(resolve(dir), resolve(path));
    if (rel === "" || (!rel.startsWith("..") && !isAbsolute(rel))) return name;
  }
  return undefined;
}

export async function buildOnPush(o: BuildOnPushOptions): Promise<{ reports: CommitBuildReport[]; failed: number }> {
  if (!o.config.database.url) {
    throw new UsageError("action.build-needs-database", "mode: build needs database.url: builds must be recorded in a PostgreSQL that outlives the runner", {
      hint: "set database.url_env in the config (e.g. a secret exported as CONDAOPS_DATABASE_URL)",
    });
  }
  for (const [what, path] of [["the state folder", o.config.state], ...(o.config.storage.kind === "local" ? [["the artifact storage", o.config.storage.path]] : [])] as const) {
    const where = ephemeral(path, o.env ?? process.env);
    if (where) {
      throw new UsageError("action.build-needs-durable-storage", `mode: build would keep ${what} (${path}) inside ${where}, which is deleted with the runner, while PostgreSQL keeps pointing at it`, {
        hint: "on a self-hosted runner, set state: (and storage.path:) to a persistent folder outside the workspace",
      });
    }
  }
  o.runner.secret(o.config.database.url);
  const log = (l: string) => o.runner.info(l);
  const services = await openBuildServices(o.config, { log, progress: (l) => lineProgress(l) });
  try {
    const source = await openRepositorySource(o.repoDir, o.config.cacheDir, log, o.identity);
    // Every commit of the push not built yet (several commits, or runs GitHub skipped), oldest first.
    const commits = await commitsToBuild(services, source, o.sha);
    if (commits.length > 1) log(`building ${commits.length} commits: ${commits.map((c) => c.slice(0, 12)).join(", ")}`);
    const reports: CommitBuildReport[] = [];
    let failed = 0;
    for (const sha of commits) {
      const report = await buildCommit(services, source, { ref: sha });
      reports.push(report);
      const links = new Map<number, { kind: string; url: string }[]>();
      for (const r of [...report.retried, ...report.results]) {
        if (r.build) links.set(r.build.id, (await publishedArtifacts(services, r.build.id)).map((a) => ({ kind: a.platform ? `${a.kind} (${a.platform})` : a.kind, url: a.url })));
      }
      await o.runner.summary(buildSummary(report, links));
      failed += [...report.retried, ...report.results].filter((r) => r.state !== "succeeded").length;
    }
    return { reports, failed };
  } finally {
    await services.close();
  }
}
