/**
 * Applies retention (`planRetention`) to one repository's store: for each build it removes,
 * the artifact rows go first (one transaction), then their objects, the commit's pin link, and
 * the prefix when no build that stays uses it (prefixes are shared by builds with the same
 * environment hash). A crash midway leaves at worst an unrecorded object or prefix, which the
 * next run removes; never a row pointing at nothing. `dryRun` computes the same report and
 * changes nothing.
 */
import { randomBytes } from "node:crypto";
import { lstat, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { BlobStorage } from "../../blobs/storage.ts";
import type { ArtifactRow, BuildStore, BuildWithCommit } from "../../store/types.ts";
import type { StoreLayout } from "../build/store-layout.ts";
import { readLink, removeLink } from "../build/store-layout.ts";
import { planRetention } from "./retention-plan.ts";
import type { RetentionDecision, RetentionSettings } from "./retention-plan.ts";

export interface GarbageServices {
  store: BuildStore;
  blobs: BlobStorage;
  layout: StoreLayout;
  log(line: string): void;
}

export interface CollectOptions {
  dryRun: boolean;
  /** The retention settings of an environment: its namespace's policy at the repository's tip. */
  settingsFor(namespace: string, name: string): RetentionSettings;
  /** Only these environments (a build applies retention to what it built); all when absent. */
  environments?: readonly { namespace: string; name: string }[];
}

export interface RemovedBuild {
  namespace: string;
  name: string;
  buildId: number;
  commit: string;
  attempt: number;
  why: RetentionDecision["reason"];
  /** Artifacts removed (kept kinds are not listed). */
  artifacts: ArtifactRow[];
  /** The prefix removed with it, when no build that stays shares it. */
  prefix?: { path: string; bytes: number };
}

export interface GarbageReport {
  dryRun: boolean;
  removed: RemovedBuild[];
  /** Builds kept, by reason. */
  kept: Record<string, number>;
  freedBytes: number;
}

/** Bytes a folder frees when removed: regular files counted once per inode (hard links share one). */
async function folderBytes(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const s = await lstat(p);
        const id = `${s.dev}:${s.ino}`;
        if (s.nlink > 1 && seen.has(id)) continue;
        seen.add(id);
        total += s.size;
      }
    }
  };
  await walk(dir);
  return total;
}

/** Removes a prefix by renaming it out of the way first: a reader never sees half a prefix under its name. */
async function removePrefix(layout: StoreLayout, prefix: string): Promise<void> {
  const doomed = join(layout.buildsDir, `.${basename(prefix)}.deleting-${randomBytes(4).toString("hex")}`);
  try {
    await rename(prefix, doomed);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  await rm(doomed, { recursive: true, force: true });
}

/** Leftovers of a removal that was interrupted. */
async function removeInterruptedDeletions(layout: StoreLayout): Promise<void> {
  let names: string[] = [];
  try {
    names = await readdir(layout.buildsDir);
  } catch {
    return;
  }
  for (const n of names.filter((x) => x.startsWith(".") && x.includes(".deleting-"))) await rm(join(layout.buildsDir, n), { recursive: true, force: true });
}

export async function collectGarbage(services: GarbageServices, repositoryId: number, options: CollectOptions): Promise<GarbageReport> {
  const { store, blobs, layout } = services;
  const only = options.environments && new Set(options.environments.map((e) => `${e.namespace}/${e.name}`));
  const envs = (await store.listEnvironments(repositoryId)).filter((e) => !only || only.has(`${e.namespace}/${e.name}`));
  const kept: Record<string, number> = {};
  const doomed: { decision: RetentionDecision; keep: RetentionSettings["keepOnDelete"] }[] = [];
  const liveByEnvCommit = new Map<string, number>();
  for (const env of envs) {
    const settings = options.settingsFor(env.namespace, env.name);
    const builds = await store.listBuilds(env.id);
    for (const d of planRetention({ namespace: env.namespace, name: env.name, removed: env.removedAtCommit !== null, currentBuildId: env.currentBuildId, settings, builds })) {
      if (d.keep) {
        kept[d.reason] = (kept[d.reason] ?? 0) + 1;
        if (d.reason !== "already-pruned" && d.build.state === "succeeded") {
          const k = `${env.id}/${d.build.commit}`;
          liveByEnvCommit.set(k, (liveByEnvCommit.get(k) ?? 0) + 1);
        }
      } else doomed.push({ decision: d, keep: settings.keepOnDelete });
    }
  }
  if (!options.dryRun) await removeInterruptedDeletions(layout);

  const removedIds = new Set(doomed.map((d) => d.decision.build.id));
  const running = await store.buildsInState("building");
  const prefixesDone = new Set<string>();
  const removed: RemovedBuild[] = [];
  let freedBytes = 0;
  for (const { decision, keep } of doomed) {
    const b: BuildWithCommit = decision.build;
    const label = `${b.namespace}/${b.name}@${b.commit.slice(0, 12)}${b.attempt > 1 ? ` (attempt ${b.attempt})` : ""}`;
    const keptKinds = new Set<string>([...keep, "build.json"]);
    const artifacts = options.dryRun ? (await store.listArtifacts(b.id)).filter((a) => !keptKinds.has(a.kind)) : await store.pruneBuild(b.id, [...keptKinds]);
    if (!options.dryRun) {
      for (const a of artifacts) await blobs.delete(a.key);
      const pin = layout.pinLink(b.namespace, b.name, b.commit);
      if (!liveByEnvCommit.has(`${b.environmentId}/${b.commit}`) && (await readLink(pin)) !== undefined) await removeLink(pin);
    }
    const entry: RemovedBuild = { namespace: b.namespace, name: b.name, buildId: b.id, commit: b.commit, attempt: b.attempt, why: decision.reason, artifacts };
    freedBytes += artifacts.reduce((n, a) => n + a.size, 0);

    const prefix = b.prefix;
    if (prefix && !prefixesDone.has(prefix)) {
      // Shared by environment hash: it goes only when every build using it goes, and never
      // while a build of an environment with this name runs (it may be about to reuse it).
      const users = await store.prefixUsers(prefix);
      const busy = running.some((r) => r.name === b.name);
      if (users.every((id) => removedIds.has(id)) && !busy) {
        prefixesDone.add(prefix);
        const bytes = await folderBytes(prefix);
        if (!options.dryRun) await removePrefix(layout, prefix);
        entry.prefix = { path: prefix, bytes };
        freedBytes += bytes;
      } else if (busy) services.log(`${label}: prefix ${prefix} kept for now: a build of ${b.name} is running`);
    }
    services.log(`${options.dryRun ? "would remove" : "removed"} ${label} (${decision.reason}): ${artifacts.length} artifacts${entry.prefix ? ` and its prefix` : ""}`);
    removed.push(entry);
  }
  return { dryRun: options.dryRun, removed, kept, freedBytes };
}
