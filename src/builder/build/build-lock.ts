/**
 * The lock a build installs: the committed `<ns>/<name>.lock.yml` verbatim when its spec hash
 * matches and it obeys the policy (a matching lock that breaks the policy fails the build: it was
 * committed on purpose), else a solve as of the commit's date that keeps the versions of the
 * build the commit's first parent resolves to wherever the spec allows.
 */
import { InputError } from "../../errors.ts";
import type { CommitInfo } from "../../git/repository.ts";
import type { FileTree } from "../../git/file-tree.ts";
import { parseCondaLock } from "../lock/conda-lock-v1.ts";
import { readCommittedLock } from "../lock/committed-lock.ts";
import type { Lock } from "../lock/types.ts";
import { solveEnvironment } from "../solve/solve.ts";
import type { BuildTarget } from "./select.ts";
import type { BuildServices } from "./services.ts";

export interface BuildLock {
  lock: Lock;
  source: "solved" | "committed";
  /** The committed file's text, published byte for byte. */
  text?: string;
}

async function lockOfBuild(services: BuildServices, buildId: number): Promise<Lock | undefined> {
  const row = (await services.store.listArtifacts(buildId)).find((a) => a.kind === "lock");
  if (!row) return undefined;
  return parseCondaLock(row.key, (await services.blobs.getBuffer(row.key)).toString("utf8"));
}

export async function lockForBuild(
  services: BuildServices,
  job: { repositoryId: number; commit: CommitInfo; tree: FileTree; target: BuildTarget },
  asOf: Date | undefined,
  log: (line: string) => void,
): Promise<BuildLock> {
  const { target, commit } = job;
  const committed = await readCommittedLock(job.tree, target, services.config.channelAlias ? { channelAlias: services.config.channelAlias } : {});
  if (committed.kind === "unreadable") log(`the committed lock ${committed.path} cannot be read (${committed.finding.message}); solving`);
  if (committed.kind === "found" && !committed.matches) log(`the committed lock ${committed.path} does not match the spec any more; solving`);
  if (committed.kind === "found" && committed.matches) {
    // Installed verbatim, so it must obey the policy as a solve would (anyone can forge its hash).
    if (committed.policy.length > 0) {
      throw new InputError("build.lock-policy", `the committed lock ${committed.path} breaks the policy: ${committed.policy.map((f) => f.message).join("; ")}`, {
        hint: `make it again with condaops lock ${target.path}, or delete it to let the build solve`,
      });
    }
    log(`using the committed lock ${committed.path} verbatim (its spec hash matches)`);
    return { lock: committed.lock, source: "committed", text: committed.text };
  }
  // Minimal change against what this environment was just before this commit: the build its
  // first parent resolves to (not the current build, which may be of a newer commit).
  const parent = commit.parents[0];
  const before = parent ? await services.store.resolveBuild(job.repositoryId, target.namespace, target.name, parent) : undefined;
  const previous =
    before?.state === "succeeded"
      ? await lockOfBuild(services, before.id).catch((e: unknown) => {
          log(`the lock of ${target.namespace}/${target.name}@${before.commit.slice(0, 12)} cannot be read (${e instanceof Error ? e.message : String(e)}); solving fresh`);
          return undefined;
        })
      : undefined;
  if (previous && before) log(`keeping the versions of the build at ${before.commit.slice(0, 12)} where the spec allows`);
  const { lock } = await solveEnvironment(target.effective, {
    gateway: services.gateway,
    virtualPackages: services.config.virtualPackages,
    ...(services.config.channelAlias ? { channelAlias: services.config.channelAlias } : {}),
    ...(asOf ? { asOf } : {}),
    ...(previous ? { previous } : {}),
    sources: [target.path],
    metadata: { "condaops.spec-hash": target.specHash, "condaops.commit": commit.sha },
    log,
  });
  return { lock, source: "solved" };
}
