/**
 * `condaops validate [--repo DIR] [--base REF [--head REF]] [--effective FILE] [FILE...]`:
 * schema and policy checks of an environments repository, the same checks the GitHub Action runs.
 */
import { stringify } from "yaml";
import { UsageError } from "../../errors.ts";
import type { FileTree } from "../../git/file-tree.ts";
import { openRepository } from "../../git/repository.ts";
import { worktree } from "../../git/worktree.ts";
import { committedLockFindings, readCommittedLock } from "../../builder/lock/committed-lock.ts";
import { loadConfig } from "../../config/index.ts";
import { formatApproval } from "../../spec/approval.ts";
import { channelShortName } from "../../spec/channel.ts";
import { formatFinding, hasErrors } from "../../spec/finding.ts";
import { validateRepository } from "../../spec/validate-repo.ts";
import type { ValidationReport } from "../../spec/validate-repo.ts";
import type { EffectiveSpec } from "../../spec/types.ts";
import type { CommandModule } from "../command.ts";
import type { Output } from "../output.ts";
import { checkRepoDir, repoOfFile, toRepoPath } from "../repo-paths.ts";

interface ValidateOptions {
  repo?: string;
  base?: string;
  head?: string;
  effective?: string;
}

/** The effective spec as a person reads it: an environment.yml with short channel names. */
export function effectiveYaml(e: EffectiveSpec): string {
  return stringify({
    name: e.name,
    ...(e.description !== undefined ? { description: e.description } : {}),
    channels: e.channels.map((c) => channelShortName(c, e.channelAlias)),
    dependencies: [...e.dependencies, ...(e.pip.requirements.length + e.pip.options.length > 0 ? [{ pip: [...e.pip.options, ...e.pip.requirements] }] : [])],
    ...(e.constraints.length > 0 ? { constraints: e.constraints } : {}),
    ...(e.blocked.length > 0 ? { blocked: e.blocked } : {}),
    ...(Object.keys(e.variables).length > 0 ? { variables: e.variables } : {}),
    platforms: e.platforms,
  });
}

function report(out: Output, r: ValidationReport, extra: Record<string, unknown> = {}): number {
  const failed = hasErrors(r.findings);
  out.result({
    ok: !failed,
    policy: r.policySource,
    findings: r.findings,
    specs: r.specs.map((s) => ({ namespace: s.namespace, name: s.name, path: s.path, valid: s.specHash !== undefined, ...(s.specHash ? { specHash: s.specHash } : {}) })),
    approvals: r.approvals,
    ...extra,
  });
  for (const f of r.findings) out.error(formatFinding(f));
  for (const s of r.specs) if (s.specHash) out.info(`${s.path}: ok (spec hash ${s.specHash.slice(0, 12)})`);
  for (const a of r.approvals) out.info(`approval: ${formatApproval(a)}`);
  const bad = new Set(r.findings.filter((f) => f.severity === "error").map((f) => f.file)).size;
  const n = r.specs.length;
  const what = `${n} spec${n === 1 ? "" : "s"} (policy: ${r.policySource})`;
  if (failed) out.error(`${r.findings.filter((f) => f.severity === "error").length} error(s) in ${bad} file(s); checked ${what}`);
  else out.info(`ok: checked ${what}`);
  return failed ? 1 : 0;
}

export const validateCommand: CommandModule = {
  name: "validate",
  define: (cmd) =>
    cmd
      .description("check specs against the schema and the policy")
      .argument("[files...]", "spec files (default: every spec of the repository)")
      .option("--repo <dir>", "environments repository (default: the current folder, or the one holding FILE)")
      .option("--base <ref>", "only specs changed since REF, judged by the policy at REF; lists the approvals the change needs")
      .option("--head <ref>", "with --base: compare against this commit instead of the working tree")
      .option("--effective <file>", "print the effective spec (policy applied) and its spec hash"),
  run: async (cmd, globals, out) => {
    const o = cmd.opts<ValidateOptions>();
    const files = cmd.args;
    if (o.head && !o.base) throw new UsageError("validate.head-without-base", "--head needs --base");
    if (o.effective && files.length > 0) throw new UsageError("validate.effective-and-files", "--effective takes one file; do not also name FILEs");
    const firstFile = o.effective ?? files[0];
    const repo = checkRepoDir(o.repo ?? (firstFile ? repoOfFile(firstFile) : "."));

    let head: FileTree = worktree(repo);
    let base: { tree: FileTree; changed: string[] } | undefined;
    if (o.base) {
      // A subfolder of a larger repository is read as the environments repository's root.
      const git = await openRepository(repo);
      base = { tree: await git.tree(o.base), changed: await git.changedSince(o.base, o.head ?? "worktree") };
      if (o.head) head = await git.tree(o.head);
    }

    if (o.effective) {
      const path = toRepoPath(repo, o.effective);
      const r = await validateRepository(head, { only: [path], ...(base ? { base } : {}) });
      const spec = r.specs[0];
      if (!spec?.effective || !spec.specHash) return report(out, r);
      out.result({ ok: true, policy: r.policySource, path, specHash: spec.specHash, effective: spec.effective, findings: r.findings });
      for (const f of r.findings) out.error(formatFinding(f));
      out.info(effectiveYaml(spec.effective).trimEnd());
      out.info(`# spec hash: sha256:${spec.specHash}`);
      return 0;
    }

    const only = files.length > 0 ? files.map((f) => toRepoPath(repo, f)) : undefined;
    const r = await validateRepository(head, { ...(only ? { only } : {}), ...(base ? { base } : {}) });
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), warn: (m) => out.error(m) });
    for (const s of r.specs) {
      if (s.specHash) r.findings.push(...committedLockFindings(await readCommittedLock(head, s, config.channelAlias ? { channelAlias: config.channelAlias } : {}), s));
    }
    return report(out, r);
  },
};
