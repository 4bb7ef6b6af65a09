/**
 * Applies retention (`planRetention`) to one repository's store. For each build it removes:
 *
 *   1. the artifact rows of the kinds not kept (a row never points at a deleted object);
 *   2. every object under the build's key that no row records (also what an earlier, interrupted
 *      run left), then the commit's pin link;
 *   3. the prefix, moved away under the prefix lock only when no build that stays uses it
 *      (prefixes are shared by environment hash, across environments of the same name);
 *   4. only then the mark `pruned`: a run that fails midway is simply done again by the next.
 *
 * A build that cannot be removed (storage down) is reported and the others go on. The full run
 * (`condaops gc`) also sweeps what no build records: prefixes of failed builds, scratch folders
 * of dead builds, leftovers of interrupted removals. `dryRun` reports the same and changes nothing.
 */
import { randomBytes } from "node:crypto";
import { lstat, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { BlobStorage } from "../../blobs/storage.ts";
import type { ArtifactRow, BuildStore, BuildWithCommit } from "../../store/types.ts";
import { buildKeyPrefix } from "../artifacts/artifact-key.ts";
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
  /** Only these environments (a build applies retention to what it built), and no sweep; all when absent. */
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
  artifacts: (Pick<ArtifactRow, "key" | "size" | "sha256" | "platform"> & { kind: ArtifactRow["kind"] | "unrecorded" })[];
  /** The prefix removed with it, when no build that stays shares it. */
  prefix?: { path: string; bytes: number };
}

export interface GarbageReport {
  dryRun: boolean;
  removed: RemovedBuild[];
  /** Folders no build records: prefixes of failed builds, scratch space of dead ones. */
  swept: { path: string; bytes: number }[];
  /** Builds that could not be removed this time, with the reason; the next run tries again. */
  failed: { namespace: string; name: string; commit: string; error: string }[];
  /** Builds kept, by reason. */
  kept: Record<string, number>;
  freedBytes: number;
}

/**
 * Bytes removing a folder frees: regular files whose every hard link is inside it (files still
 * linked from the package cache free nothing until the cache lets them go).
 */
async function folderBytes(dir: string): Promise<number> {
  const inodes = new Map<string, { size: number; nlink: number; seen: number }>();
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
        const known = inodes.get(id) ?? { size: s.size, nlink: s.nlink, seen: 0 };
        known.seen += 1;
        inodes.set(id, known);
      }
    }
  };
  await walk(dir);
  let total = 0;
  for (const i of inodes.values()) if (i.seen >= i.nlink) total += i.size;
  return total;
}

/** Moves a prefix out of its name (a reader never sees half a prefix there); returns where it went. */
async function moveAway(layout: StoreLayout, prefix: string): Promise<string | undefined> {
  const doomed = join(layout.buildsDir, `.${basename(prefix)}.deleting-${randomBytes(4).toString("hex")}`);
  try {
    await rename(prefix, doomed);
    return doomed;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function collectGarbage(services: GarbageServices, repositoryId: number, options: CollectOptions): Promise<GarbageReport> {
  const { store } = services;
  const { dryRun } = options;
  const only = options.environments && new Set(options.environments.map((e) => `${e.namespace}/${e.name}`));
  const envs = (await store.listEnvironments(repositoryId)).filter((e) => !only || only.has(`${e.namespace}/${e.name}`));
  const kept: Record<string, number> = {};
  const doomed: { decision: RetentionDecision; keep: RetentionSettings["keepOnDelete"] }[] = [];
  const liveByEnvCommit = new Set<string>();
  for (const env of envs) {
    const settings = options.settingsFor(env.namespace, env.name);
    const builds = await store.listBuilds(env.id);
    for (const d of planRetention({ namespace: env.namespace, name: env.name, removed: env.removedAtCommit !== null, currentBuildId: env.currentBuildId, settings, builds })) {
      if (d.keep) {
        kept[d.reason] = (kept[d.reason] ?? 0) + 1;
        if (d.reason !== "already-pruned" && d.build.state === "succeeded") liveByEnvCommit.add(`${env.id}/${d.build.commit}`);
      } else doomed.push({ decision: d, keep: settings.keepOnDelete });
    }
  }

  const removedIds = doomed.map((d) => d.decision.build.id);
  const prefixesDone = new Set<string>();
  const report: GarbageReport = { dryRun, removed: [], swept: [], failed: [], kept, freedBytes: 0 };
  for (const { decision, keep } of doomed) {
    const b: BuildWithCommit = decision.build;
    const label = `${b.namespace}/${b.name}@${b.commit.slice(0, 12)}${b.attempt > 1 ? ` (attempt ${b.attempt})` : ""}`;
    try {
      const entry = await removeBuild(services, b, decision, [...keep, "build.json"], { dryRun, removedIds, prefixesDone, liveByEnvCommit });
      report.freedBytes += entry.artifacts.reduce((n, a) => n + a.size, 0) + (entry.prefix?.bytes ?? 0);
      services.log(`${dryRun ? "would remove" : "removed"} ${label} (${decision.reason}): ${entry.artifacts.length} artifacts${entry.prefix ? " and its prefix" : ""}`);
      report.removed.push(entry);
    } catch (e) {
      services.log(`${label}: could not be removed: ${message(e)} (the next gc tries again)`);
      report.failed.push({ namespace: b.namespace, name: b.name, commit: b.commit, error: message(e) });
    }
  }
  if (!options.environments) {
    report.swept = await sweep(services, dryRun, prefixesDone);
    report.freedBytes += report.swept.reduce((n, s) => n + s.bytes, 0);
  }
  return report;
}

interface RemoveContext {
  dryRun: boolean;
  removedIds: readonly number[];
  prefixesDone: Set<string>;
  liveByEnvCommit: ReadonlySet<string>;
}

async function removeBuild(services: GarbageServices, b: BuildWithCommit, decision: RetentionDecision, keep: readonly string[], ctx: RemoveContext): Promise<RemovedBuild> {
  const { store, blobs, layout } = services;
  const keptKinds = new Set<string>(keep);
  let artifacts: RemovedBuild["artifacts"];
  if (ctx.dryRun) {
    artifacts = (await store.listArtifacts(b.id)).filter((a) => !keptKinds.has(a.kind));
  } else {
    artifacts = await store.removeArtifactRows(b.id, keep);
    // Every object under the build's key that no row records: the rows just removed, and
    // whatever an interrupted earlier run removed the rows of but not the objects.
    const recorded = new Set((await store.listArtifacts(b.id)).map((a) => a.key));
    const listed = new Set(artifacts.map((a) => a.key));
    for (const obj of await blobs.list(`${buildKeyPrefix(b.namespace, b.name, b.commit, b.attempt)}/`)) {
      if (recorded.has(obj.key)) continue;
      await blobs.delete(obj.key);
      if (!listed.has(obj.key)) artifacts.push({ kind: "unrecorded", key: obj.key, size: obj.size, sha256: "", platform: null });
    }
    const pin = layout.pinLink(b.namespace, b.name, b.commit);
    if (!ctx.liveByEnvCommit.has(`${b.environmentId}/${b.commit}`) && (await readLink(pin)) !== undefined) await removeLink(pin);
  }
  const entry: RemovedBuild = { namespace: b.namespace, name: b.name, buildId: b.id, commit: b.commit, attempt: b.attempt, why: decision.reason, artifacts };

  // Where the prefix is now: the state folder may have moved since the path was recorded.
  const prefix = b.prefix ? join(layout.buildsDir, basename(b.prefix)) : undefined;
  if (prefix && !ctx.prefixesDone.has(prefix)) {
    if (ctx.dryRun) {
      if ((await store.prefixUsers(prefix)).every((id) => ctx.removedIds.includes(id))) entry.prefix = { path: prefix, bytes: await folderBytes(prefix) };
    } else {
      let moved: string | undefined;
      const bytes = await folderBytes(prefix);
      const released = await store.releasePrefix(prefix, ctx.removedIds, async () => {
        moved = await moveAway(layout, prefix);
      });
      if (released) {
        if (moved) await rm(moved, { recursive: true, force: true });
        entry.prefix = { path: prefix, bytes };
      }
    }
    if (entry.prefix) ctx.prefixesDone.add(prefix);
  }
  if (!ctx.dryRun) await store.markPruned(b.id);
  return entry;
}

/** Folders under the store that no live build records (see the module header). */
async function sweep(services: GarbageServices, dryRun: boolean, done: ReadonlySet<string>): Promise<{ path: string; bytes: number }[]> {
  const { store, layout } = services;
  const out: { path: string; bytes: number }[] = [];
  for (const name of await listDir(layout.buildsDir)) {
    const path = join(layout.buildsDir, name);
    if (name.includes(".partial-")) continue; // an install in progress, or recovery's to clean
    if (name.startsWith(".") && name.includes(".deleting-")) {
      // Left by an interrupted removal.
      const bytes = await folderBytes(path);
      if (!dryRun) await rm(path, { recursive: true, force: true });
      out.push({ path, bytes });
      continue;
    }
    if (done.has(path) || name.startsWith(".")) continue;
    if ((await store.prefixUsers(path)).length > 0) continue;
    const bytes = await folderBytes(path);
    if (dryRun) {
      out.push({ path, bytes });
      continue;
    }
    let moved: string | undefined;
    if (await store.releasePrefix(path, [], async () => void (moved = await moveAway(layout, path)))) {
      if (moved) await rm(moved, { recursive: true, force: true });
      out.push({ path, bytes });
    }
  }
  const building = new Set((await store.buildsInState("building")).map((b) => `build-${b.id}`));
  for (const name of await listDir(layout.tmpDir)) {
    if (!/^build-\d+$/.test(name) || building.has(name)) continue;
    const path = join(layout.tmpDir, name);
    const bytes = await folderBytes(path);
    if (!dryRun) await rm(path, { recursive: true, force: true });
    out.push({ path, bytes });
  }
  for (const s of out) services.log(`${dryRun ? "would sweep" : "swept"} ${s.path}: recorded by no build`);
  return out;
}
