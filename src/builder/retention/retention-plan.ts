/**
 * Which builds retention removes, as a pure function of the recorded builds and the policy.
 *
 * Per environment, newest commit first: the current build, builds of pinned commits and the
 * newest `keep_last` succeeded builds stay, and so does every failed or canceled attempt newer
 * than the oldest kept one (their logs explain the history people still use). The rest are
 * removed: prefix and every artifact not in `keep_on_delete` (build.json always stays). An
 * environment whose spec was deleted keeps only its pinned builds when the policy asks for
 * retention at all (keep_last set): without it every build is kept, as the policy says. Builds
 * still queued or building are never touched.
 */
import type { BuildSettings } from "../../spec/types.ts";
import type { BuildWithCommit } from "../../store/types.ts";

export type RetentionSettings = BuildSettings["retention"];

export interface RetentionEnvironment {
  namespace: string;
  name: string;
  /** The spec was deleted from the repository. */
  removed: boolean;
  currentBuildId: number | null;
  settings: RetentionSettings;
  /** Newest commit first, as `BuildStore.listBuilds` returns them. */
  builds: readonly BuildWithCommit[];
}

export type KeepReason = "current" | "pinned" | "recent" | "active" | "already-pruned" | "no-limit";

export interface RetentionDecision {
  build: BuildWithCommit;
  keep: boolean;
  reason: KeepReason | "old" | "environment-removed";
}

const isPinned = (commit: string, pinned: readonly string[]): boolean => pinned.some((p) => commit.startsWith(p.toLowerCase()));

export function planRetention(env: RetentionEnvironment): RetentionDecision[] {
  const { keepLast, pinned } = env.settings;
  let keptSucceeded = 0;
  return env.builds.map((build): RetentionDecision => {
    if (build.prunedAt !== null) return { build, keep: true, reason: "already-pruned" };
    if (build.state === "queued" || build.state === "building") return { build, keep: true, reason: "active" };
    if (isPinned(build.commit, pinned)) return { build, keep: true, reason: "pinned" };
    if (env.removed && keepLast !== undefined) return { build, keep: false, reason: "environment-removed" };
    if (build.id === env.currentBuildId) {
      keptSucceeded += 1;
      return { build, keep: true, reason: "current" };
    }
    if (keepLast === undefined) return { build, keep: true, reason: "no-limit" };
    if (keptSucceeded < keepLast) {
      if (build.state === "succeeded") keptSucceeded += 1;
      return { build, keep: true, reason: "recent" };
    }
    return { build, keep: false, reason: "old" };
  });
}
