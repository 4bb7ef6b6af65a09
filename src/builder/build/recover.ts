/**
 * Crash recovery, run when a builder starts: builds left `building` by a worker that died are
 * marked failed (and get one retry), partial prefixes they left are removed, and the on-disk
 * `envs/` links are re-pointed from the database (the database is made current before the links
 * are swapped, so a crash in between leaves the links one build behind, never ahead).
 */
import { createHash } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { removeStalePartials } from "../install/install.ts";
import type { BuildRow } from "../../store/types.ts";
import type { BuildServices } from "./services.ts";
import { artifactKey, buildKeyPrefix } from "../artifacts/artifact-key.ts";
import { buildWorkDir, RUNNING } from "./build-environment.ts";
import { readLink, removeLink, swapSymlink } from "./store-layout.ts";
import { workerGone } from "./worker-id.ts";

/** A worker that has not written a heartbeat for this long (builds write one every 30 s) is considered dead. */
export const STALE_HEARTBEAT_MS = 10 * 60_000;

export interface Recovery {
  /** Builds marked failed because their worker died. */
  failed: BuildRow[];
  /** Of those, the ones to build again (first attempts only: a build that killed its worker twice is not retried forever). */
  retry: BuildRow[];
}

/** Recovers the builds of one repository's environments (another repository's builder retries its own). */
export async function recoverInterruptedBuilds(services: BuildServices, repositoryId: number, now: Date = new Date()): Promise<Recovery> {
  const failed: BuildRow[] = [];
  const ours = new Set((await services.store.listEnvironments(repositoryId)).map((e) => e.id));
  for (const b of await services.store.buildsInState("building")) {
    if (!ours.has(b.environmentId) || !workerGone(b.worker, b.heartbeatAt, now, STALE_HEARTBEAT_MS, RUNNING.has(b.id))) continue;
    // Cleaned up first, then marked failed: a recovery that dies halfway is simply done again.
    await removeUnrecorded(services, b);
    await salvageLog(services, b);
    await rm(buildWorkDir(services.layout, b.id), { recursive: true, force: true });
    let row: BuildRow;
    try {
      row = await services.store.finishBuild(b.id, { state: "failed", error: `the worker ${b.worker ?? "(unknown)"} stopped while building (killed or crashed)` });
    } catch {
      continue; // another process recovered it first
    }
    services.log(`${b.namespace}/${b.name}@${b.commit.slice(0, 12)}: its worker ${b.worker ?? "(unknown)"} stopped while building; marked failed`);
    failed.push(row);
  }
  // Partial prefixes of dead installs, whichever build they belonged to.
  let names: string[] = [];
  try {
    names = await readdir(services.layout.buildsDir);
  } catch {
    // no store yet
  }
  const prefixes = new Set(names.filter((n) => n.includes(".partial-")).map((n) => join(services.layout.buildsDir, n.slice(0, n.indexOf(".partial-")))));
  for (const p of prefixes) await removeStalePartials(p, services.log);
  return { failed, retry: failed.filter((b) => b.attempt === 1 && b.reason !== "retry") };
}

/** Objects the dead attempt stored before its rows were written: nothing may stay published without a row. */
async function removeUnrecorded(services: BuildServices, build: BuildRow): Promise<void> {
  const recorded = new Set((await services.store.listArtifacts(build.id)).map((a) => a.key));
  const prefix = `${buildKeyPrefix(build.namespace, build.name, build.commit, build.attempt)}/`;
  const log = logKeyOf(build);
  for (const obj of await services.blobs.list(prefix)) {
    if (recorded.has(obj.key) || obj.key === log) continue; // the log is kept: salvageLog records it
    services.log(`removing ${obj.key}, stored by the interrupted attempt but never recorded`);
    await services.blobs.delete(obj.key);
  }
}

/** The log the dead worker was streaming: published as the failed build's log, so the crash can be read about. */
const logKeyOf = (build: BuildRow): string => artifactKey(buildKeyPrefix(build.namespace, build.name, build.commit, build.attempt), "log", "build.log");

async function salvageLog(services: BuildServices, build: BuildRow): Promise<void> {
  const key = logKeyOf(build);
  try {
    if ((await services.store.listArtifacts(build.id)).some((a) => a.key === key)) return;
    // A log finished but not yet recorded when the worker died, else the one it was streaming.
    let obj = (await services.blobs.stat(key)) ? { key, ...(await hashOf(services, key)) } : undefined;
    obj ??= await services.blobs.salvage(key);
    if (obj) await services.store.addArtifact({ buildId: build.id, kind: "log", key: obj.key, size: obj.size, sha256: obj.sha256, platform: null });
  } catch (e) {
    services.log(`warning: the log of the interrupted build ${build.id} could not be kept: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function hashOf(services: BuildServices, key: string): Promise<{ size: number; sha256: string }> {
  const bytes = await services.blobs.getBuffer(key);
  return { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Points every environment's `envs/` link at its current build's prefix, where they disagree. */
export async function reconcileLinks(services: BuildServices, repositoryId: number): Promise<void> {
  for (const env of await services.store.listEnvironments(repositoryId)) {
    if (env.currentBuildId === null || env.removedAtCommit !== null) continue;
    const link = services.layout.envLink(env.namespace, env.name);
    try {
      const build = await services.store.getBuild(env.currentBuildId);
      if (!build) continue;
      if (!build.prefix) {
        await removeLink(link); // current, but not installable on this machine
      } else {
        if ((await readLink(link)) !== build.prefix) {
          services.log(`${env.namespace}/${env.name}: pointing envs/ at its current build ${build.commit.slice(0, 12)}`);
          await swapSymlink(link, build.prefix);
        }
        // The pin is swapped after the database too: a crash in between leaves it missing.
        const pin = services.layout.pinLink(env.namespace, env.name, build.commit);
        if ((await readLink(pin)) !== build.prefix) await swapSymlink(pin, build.prefix);
      }
    } catch (e) {
      // One broken link must not stop every build of the repository.
      services.log(`${env.namespace}/${env.name}: warning: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
