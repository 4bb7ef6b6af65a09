/**
 * `condaops build --repo DIR_OR_URL [--ref REF] [--env NS/NAME]... [--all] [--force] [--state DIR]`:
 * builds the environments one commit changed (or those named, or all) as immutable builds keyed
 * by the commit. One line per environment; `--json` for machines; exit 1 when any build failed
 * or a spec could not be built (the others still complete).
 */
import { loadConfig } from "../../config/index.ts";
import { UsageError } from "../../errors.ts";
import { buildCommit } from "../../builder/build/build-commit.ts";
import type { EnvironmentResult } from "../../builder/build/build-commit.ts";
import { openBuildServices } from "../../builder/build/open-services.ts";
import { publishedArtifacts } from "../../builder/build/published-artifacts.ts";
import type { PublishedArtifact } from "../../builder/build/published-artifacts.ts";
import { openRepositorySource } from "../../builder/build/repository-source.ts";
import { lineProgress, teeProgress } from "../../builder/progress.ts";
import { ttyProgress } from "../progress/tty-progress.ts";
import { formatFinding } from "../../spec/finding.ts";
import { checkIdentifier } from "../../spec/identifiers.ts";
import type { EnvironmentRef } from "../../spec/types.ts";
import type { CommandModule } from "../command.ts";

interface BuildOptions {
  repo: string;
  ref?: string;
  env?: string[];
  all?: boolean;
  force?: boolean;
  state?: string;
}

function parseEnvRef(text: string): EnvironmentRef {
  const [namespace = "", name = "", ...rest] = text.split("/");
  const bad = rest.length > 0 ? { ok: false as const, reason: "it has more than one /" } : [checkIdentifier("namespace", namespace), checkIdentifier("environment name", name)].find((r) => !r.ok);
  if (bad && !bad.ok) throw new UsageError("build.env", `--env "${text}" is not <namespace>/<name>: ${bad.reason}`, { hint: "e.g. --env data-science/analytics" });
  return { namespace, name };
}

function line(r: EnvironmentResult): string {
  const id = `${r.namespace}/${r.name}`.padEnd(28);
  const state = (r.existing ? `${r.state} (already built)` : r.state).padEnd(26);
  const hash = (r.build?.environmentHash ?? "").slice(0, 12).padEnd(12);
  const ms = r.build?.timings.total;
  const duration = ms !== undefined && !r.existing ? `${(ms / 1000).toFixed(1)} s` : "";
  const counts = r.packages ? `${r.packages} packages${r.reusedPrefix ? ", prefix reused" : ""}` : "";
  const tail = r.error && r.state !== "succeeded" ? `  ${r.error.split("\n")[0] ?? ""}` : "";
  return `${id} ${state} ${hash} ${duration.padStart(7)}  ${counts}${tail}`.trimEnd();
}

export const buildCommand: CommandModule = {
  name: "build",
  define: (cmd) =>
    cmd
      .description("build the environments of one commit as immutable builds keyed by the commit")
      .requiredOption("--repo <dir-or-url>", "environments repository: a folder, or a URL cloned into the cache")
      .option("--ref <ref>", "commit, branch or tag to build (default: HEAD; the default branch for a URL)")
      .option("--env <ns/name...>", "build these environments (default: those the commit changed)")
      .option("--all", "build every environment of the commit")
      .option("--force", "build again even where this commit was built (a new attempt)")
      .option("--state <dir>", "state folder: builds, links, embedded database, local artifacts (default .condaops, or state: in the configuration)"),
  run: async (cmd, globals, out) => {
    const o = cmd.opts<BuildOptions>();
    if (o.all && o.env) throw new UsageError("build.all-and-env", "--all and --env contradict each other");
    const named = o.env?.map(parseEnvRef);
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), ...(o.state ? { state: o.state } : {}), warn: (m) => out.error(m) });

    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130);
      out.error(`${signal}: canceling after the current step (again to stop at once)`);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const log = (l: string) => out.progress(l);
    // On a terminal, bars while installing; the build log gets one line per phase either way.
    const bars = out.tty && process.stderr.isTTY ? ttyProgress(process.stderr) : undefined;
    const services = await openBuildServices(config, { log, progress: (l) => (bars ? teeProgress(bars, lineProgress(l)) : lineProgress(l)), signal: controller.signal });
    try {
      const source = await openRepositorySource(o.repo, config.cacheDir, log);
      const report = await buildCommit(services, source, { ...(o.ref ? { ref: o.ref } : {}), ...(o.all ? { all: true } : {}), ...(named ? { named } : {}), ...(o.force ? { force: true } : {}) });
      // A retried build that is also this commit's shows once, as the retry.
      const retriedIds = new Set(report.retried.map((r) => r.build?.id));
      const all = [...report.retried, ...report.results.filter((r) => !(r.existing && retriedIds.has(r.build?.id)))];
      const bad = all.filter((r) => r.state !== "succeeded");
      // For machines: where each build's artifacts are (a CI step can download them from here).
      const artifacts = new Map<number, PublishedArtifact[]>();
      if (out.json) for (const r of all) if (r.build) artifacts.set(r.build.id, await publishedArtifacts(services, r.build.id));
      out.result({
        ok: bad.length === 0,
        repository: report.repository,
        commit: report.commit.sha,
        state: config.state,
        builds: all.map((r) => ({
          namespace: r.namespace,
          name: r.name,
          commit: r.commit,
          state: r.state,
          existing: r.existing,
          ...(r.build ? { id: r.build.id, attempt: r.build.attempt, reason: r.build.reason, environmentHash: r.build.environmentHash, prefix: r.build.prefix, specHash: r.build.specHash, timings: r.build.timings } : {}),
          ...(r.packages !== undefined ? { packages: r.packages, reusedPrefix: r.reusedPrefix } : {}),
          ...(r.build ? { artifacts: artifacts.get(r.build.id) ?? [] } : {}),
          ...(r.error ? { error: r.error } : {}),
          ...(r.findings ? { findings: r.findings } : {}),
        })),
        removed: report.removed,
      });
      out.info(`${report.commit.sha.slice(0, 12)} ${report.commit.message.split("\n")[0] ?? ""}`);
      if (all.length === 0 && report.removed.length === 0) out.info("no environment changed in this commit (--all or --env to build anyway)");
      for (const r of all) {
        out.info(line(r));
        for (const f of r.findings ?? []) out.error(`  ${formatFinding(f)}`);
      }
      for (const r of report.removed) out.info(`${`${r.namespace}/${r.name}`.padEnd(28)} removed`);
      return bad.length > 0 ? 1 : 0;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await services.close();
    }
  },
};
