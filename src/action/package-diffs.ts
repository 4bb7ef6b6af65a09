/**
 * The resolved package diff of a pull request: every changed environment solved at the base and
 * at the head (the head keeping the base's versions wherever its spec allows, as the build after
 * merging will), then diffed. A committed lock whose spec hash matches is used instead of a
 * solve, as the builder does. An unsatisfiable head is a result (shown to the author with the
 * solver's explanation), not a crash; network and channel failures still throw.
 */
import { isCondaopsError } from "../errors.ts";
import type { FileTree } from "../git/file-tree.ts";
import type { VirtualPackageVersions } from "../config/index.ts";
import type { RepodataGateway } from "../builder/channels/repodata-gateway.ts";
import { readCommittedLock, verbatimLock } from "../builder/lock/committed-lock.ts";
import { diffLocks } from "../builder/lock/diff.ts";
import type { LockDiff } from "../builder/lock/diff.ts";
import type { Lock } from "../builder/lock/types.ts";
import { solveEnvironment } from "../builder/solve/solve.ts";
import type { ValidatedSpec } from "../spec/validate-repo.ts";

export interface EnvironmentDiff {
  namespace: string;
  name: string;
  path: string;
  change: "added" | "changed" | "removed";
  diff?: LockDiff;
  /** Why the head cannot be solved (unsatisfiable), in the solver's words. */
  error?: string;
  /** The base could not be solved any more: the diff shows the head's packages as added. */
  baseNote?: string;
}

export interface SolveContext {
  gateway: RepodataGateway;
  virtualPackages: VirtualPackageVersions;
  channelAlias?: string;
  log(line: string): void;
}

async function lockOf(tree: FileTree, spec: ValidatedSpec, ctx: SolveContext, previous?: Lock): Promise<Lock> {
  // What the build after merging will install: a committed lock only when it would be used verbatim.
  const committed = verbatimLock(await readCommittedLock(tree, spec, ctx.channelAlias ? { channelAlias: ctx.channelAlias } : {}));
  if (committed) return committed.lock;
  if (!spec.effective) throw new Error(`${spec.path} has no effective spec`);
  const { lock } = await solveEnvironment(spec.effective, {
    gateway: ctx.gateway,
    virtualPackages: ctx.virtualPackages,
    ...(ctx.channelAlias ? { channelAlias: ctx.channelAlias } : {}),
    ...(previous ? { previous } : {}),
    sources: [spec.path],
    log: ctx.log,
  });
  return lock;
}

const emptyLike = (lock: Lock): Lock => ({ ...lock, packages: [] });

const rejected = (e: unknown): string | undefined => (isCondaopsError(e) && e.exitCode === 1 ? (e.hint ? `${e.message}\n${e.hint}` : e.message) : undefined);

export async function packageDiffs(base: { tree: FileTree; specs: readonly ValidatedSpec[] }, head: { tree: FileTree; specs: readonly ValidatedSpec[] }, ctx: SolveContext): Promise<EnvironmentDiff[]> {
  const out: EnvironmentDiff[] = [];
  const baseByPath = new Map(base.specs.map((s) => [s.path, s]));
  const headByPath = new Map(head.specs.map((s) => [s.path, s]));
  for (const path of [...new Set([...baseByPath.keys(), ...headByPath.keys()])].sort()) {
    const b = baseByPath.get(path);
    const h = headByPath.get(path);
    const ref = (h ?? b) as ValidatedSpec;
    const entry: EnvironmentDiff = { namespace: ref.namespace, name: ref.name, path, change: !b ? "added" : !h ? "removed" : "changed" };
    let baseLock: Lock | undefined;
    if (b?.effective) {
      try {
        baseLock = await lockOf(base.tree, b, ctx);
      } catch (e) {
        const why = rejected(e);
        if (why === undefined) throw e;
        entry.baseNote = `the base version cannot be solved any more (${why.split("\n")[0] ?? ""})`;
      }
    }
    if (h) {
      if (!h.effective) continue; // invalid at head: the policy findings say why
      try {
        const headLock = await lockOf(head.tree, h, ctx, baseLock);
        entry.diff = diffLocks(baseLock ?? emptyLike(headLock), headLock);
      } catch (e) {
        const why = rejected(e);
        if (why === undefined) throw e;
        entry.error = why;
      }
    } else if (baseLock) {
      entry.diff = diffLocks(baseLock, emptyLike(baseLock));
    }
    out.push(entry);
  }
  return out;
}
