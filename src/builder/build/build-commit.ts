/**
 * `condaops build` as a library: one commit of an environments repository in, one build per
 * selected environment out. Records the commit's first-parent history (so `ns/name@commit`
 * resolves without git later), recovers builds a dead worker left behind, queues the builds,
 * runs them one after another (a failed one does not stop the others) and reports each.
 */
import { UsageError } from "../../errors.ts";
import type { Finding } from "../../spec/finding.ts";
import type { EnvironmentRef } from "../../spec/types.ts";
import { BuildConflictError } from "../../store/build-store.ts";
import type { BuildRow, BuildState } from "../../store/types.ts";
import type { CommitInfo, GitRepository } from "../../git/repository.ts";
import { runBuild } from "./build-environment.ts";
import { reconcileLinks, recoverInterruptedBuilds } from "./recover.ts";
import type { RepositorySource } from "./repository-source.ts";
import { selectEnvironments } from "./select.ts";
import type { BuildTarget } from "./select.ts";
import type { BuildServices } from "./services.ts";
import { removeLink } from "./store-layout.ts";
import { claimStateFolder } from "./state-owner.ts";
import { collectGarbage } from "../retention/collect-garbage.ts";
import { formatBytes } from "../../byte-size.ts";

export interface BuildCommitOptions {
  ref?: string;
  all?: boolean;
  named?: readonly EnvironmentRef[];
  /** A new attempt even where (environment, commit) was built already. */
  force?: boolean;
}

export interface EnvironmentResult extends EnvironmentRef {
  commit: string;
  /** `rejected`: the spec at this commit cannot be built (schema or policy errors); no build is recorded. */
  state: BuildState | "rejected";
  /** The build existed already and was not run again. */
  existing: boolean;
  build?: BuildRow;
  packages?: number;
  reusedPrefix?: boolean;
  error?: string;
  findings?: Finding[];
}

export interface CommitBuildReport {
  commit: CommitInfo;
  repository: string;
  results: EnvironmentResult[];
  removed: EnvironmentRef[];
  /** Builds a dead worker left, run again before this commit's. */
  retried: EnvironmentResult[];
}

const HISTORY_PAGE = 500;

/**
 * Records REF's first-parent history back to the first commit already known, oldest first: a run
 * interrupted halfway leaves a recorded tail the next run continues from, never a gap.
 */
async function recordHistory(services: BuildServices, repo: GitRepository, repositoryId: number, sha: string): Promise<void> {
  const fresh: CommitInfo[] = [];
  for (let skip = 0; ; skip += HISTORY_PAGE) {
    const page = await repo.firstParentHistory(sha, HISTORY_PAGE, skip);
    const known = await services.store.knownCommits(repositoryId, page.map((c) => c.sha));
    const firstKnown = page.findIndex((c) => known.has(c.sha));
    fresh.push(...(firstKnown === -1 ? page : page.slice(0, firstKnown)));
    if (firstKnown !== -1 || page.length < HISTORY_PAGE) break;
  }
  fresh.reverse();
  for (let i = 0; i < fresh.length; i += HISTORY_PAGE) await services.store.recordCommits(repositoryId, fresh.slice(i, i + HISTORY_PAGE));
}

interface Queued {
  target: BuildTarget;
  build: BuildRow;
}

async function queue(services: BuildServices, repo: GitRepository, repositoryId: number, sha: string, targets: readonly BuildTarget[], force: boolean, results: EnvironmentResult[]): Promise<Queued[]> {
  const out: Queued[] = [];
  for (const target of targets) {
    // Building a commit from before an environment was removed does not bring it back; a spec
    // that reappears after the removal does.
    const known = await services.store.getEnvironment(repositoryId, target.namespace, target.name);
    const stillRemoved = known?.removedAtCommit ? !(await repo.isAncestor(known.removedAtCommit, sha)) : false;
    const env = known && stillRemoved ? known : await services.store.ensureEnvironment(repositoryId, target.namespace, target.name);
    await services.store.recordSpecification(target.specHash, target.effective);
    const latest = await services.store.latestAttempt(env.id, sha);
    // A canceled build (Ctrl-C) was never finished: the next run builds it again.
    if (latest && !force && latest.state !== "queued" && latest.state !== "canceled") {
      results.push({ namespace: target.namespace, name: target.name, commit: sha, state: latest.state, existing: true, build: latest, ...(latest.error ? { error: latest.error } : {}) });
      continue;
    }
    if (latest?.state === "queued" && !force) {
      out.push({ target, build: latest });
      continue;
    }
    try {
      const build = await services.store.createBuild({
        environmentId: env.id,
        commit: sha,
        specHash: target.specHash,
        reason: force && latest && latest.state !== "canceled" ? "forced" : target.reason,
        attempt: (latest?.attempt ?? 0) + 1,
      });
      out.push({ target, build });
    } catch (e) {
      if (!(e instanceof BuildConflictError)) throw e;
      // Another process queued the same attempt a moment ago: report its build.
      const other = await services.store.latestAttempt(env.id, sha);
      results.push({ namespace: target.namespace, name: target.name, commit: sha, state: other?.state ?? "queued", existing: true, ...(other ? { build: other } : {}) });
    }
  }
  return out;
}

async function runQueued(services: BuildServices, source: RepositorySource, repositoryId: number, commit: CommitInfo, queued: readonly Queued[], results: EnvironmentResult[]): Promise<void> {
  const tree = await source.repo.tree(commit.sha);
  for (const { target, build } of queued) {
    const base = { namespace: target.namespace, name: target.name, commit: commit.sha };
    if (services.signal?.aborted) {
      const canceled = await services.store.finishBuild(build.id, { state: "canceled", error: "canceled before it started" });
      results.push({ ...base, state: "canceled", existing: false, build: canceled, error: "canceled before it started" });
      continue;
    }
    let outcome;
    try {
      outcome = await runBuild(services, { repositoryId, repositoryIdentity: source.identity, commit, tree, target, build });
    } catch (e) {
      // Only the database or storage failing while the state is recorded gets here; the other
      // environments of the commit still build.
      const error = e instanceof Error ? e.message : String(e);
      results.push({ ...base, state: "failed", existing: false, build, error });
      continue;
    }
    results.push({
      ...base,
      state: outcome.build.state,
      existing: outcome.taken ?? false,
      build: outcome.build,
      packages: outcome.packages,
      reusedPrefix: outcome.reusedPrefix,
      ...(outcome.build.error ? { error: outcome.build.error } : {}),
    });
  }
}

/**
 * A shallow clone's history stops short: its oldest commit looks like a root (everything new),
 * the commits of a push beyond the boundary look unbuilt, and the recorded history would get a
 * false root. Whatever the depth, builds need the whole history.
 */
async function refuseShallow(repo: GitRepository): Promise<void> {
  if (await repo.isShallow()) {
    throw new UsageError("build.shallow", `${repo.dir} is a shallow clone: part of its history is missing, so what each commit changed cannot be told`, {
      hint: "fetch the whole history (git fetch --unshallow, or actions/checkout with fetch-depth: 0)",
    });
  }
}

/**
 * The commits a CI-driven builder should build for a push to REF: every first-parent commit not
 * yet recorded, oldest first (a push of several commits, a rebase-merge, or pushes whose runs
 * were skipped), so `ns/name@<any of them>` has its build. Just REF the first time a repository
 * is seen (its earlier history is recorded, not built) or when REF itself is known.
 */
export async function commitsToBuild(services: BuildServices, source: RepositorySource, ref: string, max = 100): Promise<string[]> {
  await refuseShallow(source.repo);
  const repositoryId = await services.store.ensureRepository(source.identity);
  const sha = await source.repo.resolve(ref);
  const history = await source.repo.firstParentHistory(sha, max);
  const known = await services.store.knownCommits(repositoryId, history.map((c) => c.sha));
  const firstKnown = history.findIndex((c) => known.has(c.sha));
  if (firstKnown <= 0) return [sha];
  return history.slice(0, firstKnown).map((c) => c.sha).reverse();
}


/**
 * Retention for the environments this run built, when the commit built is the tip of the
 * repository's default ref: its policy is then the one `condaops gc` would apply. An older
 * commit's policy may lack a pin the tip added (a push built oldest first), so building one
 * leaves retention to the tip's build or to gc. A failure here is a warning: the builds
 * succeeded, and `condaops gc` can finish the job.
 */
async function retainAfterBuild(services: BuildServices, source: RepositorySource, repositoryId: number, sha: string, targets: readonly BuildTarget[], results: readonly EnvironmentResult[]): Promise<void> {
  if (!targets.some((t) => t.settings.retention.keepLast !== undefined)) return;
  let tip: string | undefined;
  try {
    tip = await source.repo.resolve(source.defaultRef);
  } catch {
    tip = undefined;
  }
  if (tip !== sha) {
    services.log(`retention: left to condaops gc (${sha.slice(0, 12)} is not the tip of ${source.defaultRef})`);
    return;
  }
  const settings = new Map(targets.map((t) => [`${t.namespace}/${t.name}`, t.settings.retention]));
  const built = results.filter((r) => r.state === "succeeded" && !r.existing && settings.get(`${r.namespace}/${r.name}`)?.keepLast !== undefined);
  if (built.length === 0) return;
  try {
    const report = await collectGarbage(services, repositoryId, {
      dryRun: false,
      environments: built,
      settingsFor: (ns, name) => settings.get(`${ns}/${name}`) ?? { keepOnDelete: [], pinned: [] },
    });
    if (report.removed.length > 0) services.log(`retention: removed ${report.removed.length} old builds, ${formatBytes(report.freedBytes)} freed`);
  } catch (e) {
    services.log(`warning: retention after the build failed: ${e instanceof Error ? e.message : String(e)} (run condaops gc)`);
  }
}

export async function buildCommit(services: BuildServices, source: RepositorySource, options: BuildCommitOptions = {}): Promise<CommitBuildReport> {
  const { store } = services;
  const repo = source.repo;
  await claimStateFolder(services.layout.stateDir, source.identity);
  const repositoryId = await store.ensureRepository(source.identity);

  // Whatever a dead worker left: fail it, clean its partial prefix, retry it below.
  const recovery = await recoverInterruptedBuilds(services, repositoryId);
  await reconcileLinks(services, repositoryId);

  const sha = await repo.resolve(options.ref ?? source.defaultRef);
  const commit = await repo.commit(sha);
  await refuseShallow(repo);
  await recordHistory(services, repo, repositoryId, sha);

  const retried: EnvironmentResult[] = [];
  const envs = new Map((await store.listEnvironments(repositoryId)).map((e) => [e.id, e]));
  for (const failed of recovery.retry) {
    const env = envs.get(failed.environmentId);
    if (!env) continue;
    const retryCommit = await repo.commit(failed.commit);
    const sel = await selectEnvironments(await repo.tree(failed.commit), { named: [{ namespace: env.namespace, name: env.name }] });
    const target = sel.targets[0];
    if (!target) continue;
    services.log(`${env.namespace}/${env.name}@${failed.commit.slice(0, 12)}: retrying after the interrupted attempt`);
    let build;
    try {
      build = await store.createBuild({ environmentId: env.id, commit: failed.commit, specHash: target.specHash, reason: "retry", attempt: failed.attempt + 1 });
    } catch (e) {
      if (e instanceof BuildConflictError) continue; // another builder is retrying it
      throw e;
    }
    await runQueued(services, source, repositoryId, retryCommit, [{ target: { ...target, reason: "retry" }, build }], retried);
  }

  const tree = await repo.tree(sha);
  const parentSha = commit.parents[0];
  const parent = parentSha ? { tree: await repo.tree(parentSha), changed: await repo.changedSince(parentSha, sha) } : undefined;
  const selection = await selectEnvironments(tree, { ...(parent ? { parent } : {}), ...(options.all ? { all: true } : {}), ...(options.named ? { named: options.named } : {}) });

  const results: EnvironmentResult[] = selection.rejected.map((r) => ({
    namespace: r.namespace,
    name: r.name,
    commit: sha,
    state: "rejected",
    existing: false,
    findings: r.findings,
    error: `${r.path} cannot be built at this commit: ${r.findings.filter((f) => f.severity === "error").map((f) => f.message).join("; ")}`,
  }));

  for (const ref of selection.removed) {
    const env = await store.getEnvironment(repositoryId, ref.namespace, ref.name);
    if (!env) continue;
    await store.markEnvironmentRemoved(env.id, sha);
    await removeLink(services.layout.envLink(ref.namespace, ref.name));
    services.log(`${ref.namespace}/${ref.name}: removed by this commit (its builds and pins stay)`);
  }

  const queued = await queue(services, repo, repositoryId, sha, selection.targets, options.force ?? false, results);
  await runQueued(services, source, repositoryId, commit, queued, results);
  await retainAfterBuild(services, source, repositoryId, sha, selection.targets, results);
  results.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  return { commit, repository: source.identity, results, removed: selection.removed, retried };
}
