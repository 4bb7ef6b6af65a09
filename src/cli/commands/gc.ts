/**
 * `condaops gc [--repo DIR_OR_URL] [--ref REF] [--dry-run]`: applies retention to every
 * environment of the state folder's repository, with the policy at the repository's tip
 * (`build.retention`: keep_last, keep_on_delete, pinned). Prints what it removes and frees;
 * `--dry-run` prints the same and changes nothing. Builds apply retention to what they built;
 * gc also covers environments whose spec was deleted and policy changes since.
 */
import { loadConfig } from "../../config/index.ts";
import { InputError } from "../../errors.ts";
import { openBuildServices } from "../../builder/build/open-services.ts";
import { openRepositorySource } from "../../builder/build/repository-source.ts";
import { requireStateOwner, stateRepository } from "../../builder/build/state-owner.ts";
import { collectGarbage } from "../../builder/retention/collect-garbage.ts";
import { formatBytes } from "../../byte-size.ts";
import { formatFinding } from "../../spec/finding.ts";
import { policyFor } from "../../spec/policy.ts";
import { loadPolicy } from "../../spec/validate-repo.ts";
import type { CommandModule } from "../command.ts";

export const gcCommand: CommandModule = {
  name: "gc",
  define: (cmd) =>
    cmd
      .description("remove builds retention no longer keeps (prefixes and artifacts other than keep_on_delete)")
      .option("--repo <dir-or-url>", "environments repository whose policy decides (default: the one the state folder was built from)")
      .option("--ref <ref>", "read the policy at this commit, branch or tag (default: HEAD, or the default branch of a URL)")
      .option("--dry-run", "print what would be removed and freed; change nothing")
      .option("--state <dir>", "state folder (default .condaops, or state: in the configuration)"),
  run: async (cmd, globals, out) => {
    const o = cmd.opts<{ repo?: string; ref?: string; dryRun?: boolean; state?: string }>();
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), ...(o.state ? { state: o.state } : {}), warn: (m) => out.error(m) });
    const log = (l: string) => out.progress(l);
    await requireStateOwner(config.state);
    const services = await openBuildServices(config, { log });
    try {
      const { identity, repositoryId } = await stateRepository(config.state, services.store);
      const source = await openRepositorySource(o.repo ?? identity, config.cacheDir, log);
      const sha = await source.repo.resolve(o.ref ?? source.defaultRef);
      const { policy, findings, source: policySource } = await loadPolicy(await source.repo.tree(sha));
      if (!policy) {
        for (const f of findings) out.error(formatFinding(f));
        throw new InputError("gc.policy", `the policy at ${sha.slice(0, 12)} is invalid: nothing was removed`, { hint: `fix ${policySource}` });
      }
      const report = await collectGarbage(services, repositoryId, { dryRun: o.dryRun ?? false, settingsFor: (ns) => policyFor(policy, ns).build.retention });
      out.result({
        dryRun: report.dryRun,
        policy: `${policySource}`,
        freedBytes: report.freedBytes,
        kept: report.kept,
        removed: report.removed,
        swept: report.swept,
        failed: report.failed,
      });
      const verb = report.dryRun ? "would remove" : "removed";
      for (const r of report.removed) {
        const what = [`${r.artifacts.length} artifacts (${formatBytes(r.artifacts.reduce((n, a) => n + a.size, 0))})`, ...(r.prefix ? [`prefix ${r.prefix.path} (${formatBytes(r.prefix.bytes)})`] : [])];
        out.info(`${verb} ${r.namespace}/${r.name}@${r.commit.slice(0, 12)}${r.attempt > 1 ? ` attempt ${r.attempt}` : ""} [${r.why}]: ${what.join(", ")}`);
      }
      for (const s of report.swept) out.info(`${report.dryRun ? "would sweep" : "swept"} ${s.path} (${formatBytes(s.bytes)}): recorded by no build`);
      for (const f of report.failed) out.error(`could not remove ${f.namespace}/${f.name}@${f.commit.slice(0, 12)}: ${f.error} (run gc again)`);
      const keptText = Object.entries(report.kept).map(([why, n]) => `${n} ${why}`).join(", ") || "none";
      out.info(`${report.dryRun ? "would free" : "freed"} ${formatBytes(report.freedBytes)} from ${report.removed.length} builds; kept ${keptText}${report.dryRun ? " (dry run: nothing changed)" : ""}`);
      return report.failed.length > 0 ? 3 : 0;
    } finally {
      await services.close();
    }
  },
};
