/**
 * One build: one environment at one commit, from a queued row to succeeded, failed or canceled.
 *
 *   lock     committed `<ns>/<name>.lock.yml` verbatim when its spec hash matches, else a solve as
 *            of the commit's date, keeping the current build's versions where the spec allows
 *   install  into `<state>/builds/<env-hash-12>-<name>/`, or reuse it when an earlier build
 *            with the same environment hash made it; permissions applied
 *   publish  the artifacts made in parallel (the first failure aborts the others) and stored,
 *            (build-artifacts.ts), build.json (listing them in key order) after them; then what goes beyond the store
 *            (a maker's `afterStored`: the image pushed to a registry), once every object is
 *            stored; rows written last (a row never points at nothing). The log is streamed to
 *            storage while the build runs
 *   current  the row marked succeeded and current, then the pin and `envs/` symlinks swapped
 *
 * Any failure marks the build failed with the reason in its log and `error` column, removes the
 * objects this attempt stored (other than its log) and leaves the previous build current. A
 * cancel (services.signal, Ctrl-C) does the same but marks it canceled: checked before each step,
 * and a step it interrupts (a maker's abort error) ends canceled too, not failed; once the
 * registry push succeeded, the build is finished regardless.
 */
import { mkdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { InfraError, isCondaopsError } from "../../errors.ts";
import { formatBytes } from "../../byte-size.ts";
import type { CommitInfo } from "../../git/repository.ts";
import type { FileTree } from "../../git/file-tree.ts";
import { parseMatchSpec } from "../../spec/match-spec.ts";
import type { BuildRecord } from "../../schema-types/build-record.ts";
import type { ArtifactRow, BuildPackageRow, BuildRow } from "../../store/types.ts";
import type { StoredObject } from "../../blobs/storage.ts";
import { ALWAYS_PUBLISHED } from "../artifacts/index.ts";
import { missingLicenses, packageStem } from "../artifacts/package-licenses.ts";
import { artifactKey, buildKeyPrefix } from "../artifacts/artifact-key.ts";
import { redactText } from "../channels/redact.ts";
import { environmentHash } from "../lock/environment-hash.ts";
import { ArtifactFailed, Canceled, causedByAbort, makeArtifacts, publishBeyondStore } from "./build-artifacts.ts";
import type { ArtifactPhase } from "./build-artifacts.ts";
import { createBuildLog } from "./build-log.ts";
import { lockForBuild } from "./build-lock.ts";
import { prefixForBuild } from "./build-prefix.ts";
import type { BuildPrefix } from "./build-prefix.ts";
import type { BuildLog } from "./build-log.ts";
import type { BuildTarget } from "./select.ts";
import type { BuildServices } from "./services.ts";
import { removeLink, swapSymlink } from "./store-layout.ts";
import { CONDAOPS_VERSION } from "../../version.ts";

export interface BuildJob {
  repositoryId: number;
  /** Recorded in build.json: a redacted URL or a path. */
  repositoryIdentity: string;
  commit: CommitInfo;
  tree: FileTree;
  target: BuildTarget;
  build: BuildRow;
}

export interface BuildOutcome {
  build: BuildRow;
  packages: number;
  reusedPrefix: boolean;
  /** Another worker had started this build: it was not run here. */
  taken?: boolean;
}

const HEARTBEAT_MS = 30_000;

/** Builds this process is running now: recovery never takes one of these for a dead worker's (pid reuse in containers). */
export const RUNNING = new Set<number>();



function requestedNames(deps: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const d of deps) {
    const r = parseMatchSpec(d);
    if (r.ok) names.add(r.spec.name.toLowerCase());
  }
  return names;
}

/** `<state>/tmp/build-<id>`: the build's scratch space; recovery removes a dead build's. */
export function buildWorkDir(layout: Pick<BuildServices["layout"], "tmpDir">, buildId: number): string {
  return join(layout.tmpDir, `build-${buildId}`);
}

/** The disk guard: a build that would fill the store's disk midway fails before it starts. */
async function checkFreeSpace(stateDir: string, minimum: number): Promise<void> {
  if (minimum <= 0) return;
  await mkdir(stateDir, { recursive: true });
  const s = await statfs(stateDir);
  const free = s.bavail * s.bsize;
  if (free < minimum) {
    throw new InfraError("build.disk-space", `only ${formatBytes(free)} free in ${stateDir}, below build.min_free_space (${formatBytes(minimum)})`, {
      hint: "free space (condaops gc removes builds retention no longer keeps) or lower build.min_free_space in the configuration, then build again with --force",
    });
  }
}

export async function runBuild(services: BuildServices, job: BuildJob): Promise<BuildOutcome> {
  const { store, blobs, layout } = services;
  const { target, commit } = job;
  const started = Date.now();
  const keyPrefix = buildKeyPrefix(target.namespace, target.name, commit.sha, job.build.attempt);
  const secrets = services.config.channelCredentials.flatMap((c) => [c.token, c.password].filter((s): s is string => typeof s === "string" && s.length > 0));
  const label = `${target.namespace}/${target.name}@${commit.sha.slice(0, 12)}`;
  if (!(await store.startBuild(job.build.id, services.worker))) {
    // Another worker took it between queueing and now: report its build, do not run it twice.
    const taken = (await store.getBuild(job.build.id)) ?? job.build;
    return { build: taken, packages: 0, reusedPrefix: false, taken: true };
  }
  RUNNING.add(job.build.id);
  let log: BuildLog;
  try {
    log = createBuildLog(await blobs.writer(artifactKey(keyPrefix, "log", "build.log")), {
      echo: (l) => services.log(`${label}: ${l}`),
      secrets,
    });
  } catch (e) {
    // No log to write into: the build still ends failed, never stuck in `building`.
    RUNNING.delete(job.build.id);
    const error = `cannot start the build log: ${redactText(e instanceof Error ? e.message : String(e), secrets)}`;
    services.log(`${label}: ${error}`);
    return { build: await store.finishBuild(job.build.id, { state: "failed", error }), packages: 0, reusedPrefix: false };
  }
  const heartbeat = setInterval(() => void store.heartbeat(job.build.id).catch(() => undefined), HEARTBEAT_MS);
  heartbeat.unref();
  const timings: Record<string, number> = {};
  const stored: StoredObject[] = [];
  let published = false;
  const rows: ArtifactRow[] = [];
  const workRoot = buildWorkDir(services.layout, job.build.id);
  const checkCanceled = () => {
    if (services.signal?.aborted) throw new Canceled("canceled");
  };
  const phase: ArtifactPhase = { services, buildId: job.build.id, keyPrefix, workRoot, log: (l) => log.line(l), stored, timings };
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    checkCanceled();
    const t = Date.now();
    try {
      return await fn();
    } finally {
      timings[name] = Date.now() - t;
    }
  };

  try {
    log.line(`build ${job.build.id} attempt ${job.build.attempt} (${job.build.reason}) of ${label} on ${services.worker}`);
    log.line(`commit ${commit.sha} by ${commit.authorName} at ${commit.date}: ${commit.message.split("\n")[0] ?? ""}`);
    log.line(`spec hash ${target.specHash}`);
    await checkFreeSpace(services.layout.stateDir, services.config.build.minFreeSpace);
    const asOf = target.settings.asOf === "commit" ? new Date(commit.date) : undefined;
    if (target.effective.pip.requirements.length > 0) {
      log.line(`warning: pip dependencies are not installed by this version of condaops yet: ${target.effective.pip.requirements.join(", ")}`);
    }

    // 1. lock
    const { lock, source: lockSource, text: lockText } = await step("solve", () => lockForBuild(services, job, asOf, (l) => log.line(l)));
    const hashes = Object.fromEntries(lock.platforms.map((p) => [p, environmentHash(lock, p)]));
    for (const p of lock.platforms) log.line(`${p}: ${lock.packages.filter((x) => x.platform === p).length} packages, environment hash ${hashes[p]}`);

    // 2. install (or reuse)
    const platform = services.hostPlatform && lock.platforms.includes(services.hostPlatform) ? services.hostPlatform : undefined;
    let built: BuildPrefix | undefined;
    if (!platform) {
      log.line(`this machine (${services.hostPlatform ?? "unknown platform"}) is not one of the targets (${lock.platforms.join(", ")}): publishing the lock without installing`);
    } else {
      built = await step("install", () => prefixForBuild(services, lock, target, platform, hashes[platform] as string, (l) => log.line(l), job.build.id));
    }
    const installed = built && { prefix: built.prefix, platform: built.platform, environmentHash: built.environmentHash };
    const reusedPrefix = built?.reused ?? false;

    // 3. artifacts, stored before any row is written
    const requested = requestedNames(target.effective.dependencies);
    const licenses = await missingLicenses(lock.packages, { ...(installed ? { installed } : {}), cacheDir: services.config.cacheDir });
    const packageRows: BuildPackageRow[] = lock.packages.map((p) => ({
      platform: p.platform,
      name: p.name,
      version: p.version,
      build: p.build,
      channel: p.channel,
      subdir: p.subdir,
      sha256: p.sha256,
      license: p.license ?? licenses.get(packageStem(p)) ?? null,
      requested: requested.has(p.name.toLowerCase()),
    }));
    const { rows: artifactRows, made, afterStored } = await step("artifacts", () =>
      makeArtifacts(phase, {
        namespace: target.namespace,
        name: target.name,
        commit: commit.sha,
        commitDate: commit.date,
        effective: target.effective,
        lock,
        ...(lockText !== undefined ? { lockText } : {}),
        ...(installed ? { installed } : {}),
        repository: job.repositoryIdentity,
        cacheDir: services.config.cacheDir,
        oci: services.config.oci,
      }, new Set([...ALWAYS_PUBLISHED, ...target.settings.artifacts])),
    );
    rows.push(...artifactRows);

    const finishedAt = new Date();
    timings.total = finishedAt.getTime() - started;
    const record: BuildRecord = {
      schema: "condaops.build/1",
      environment: { namespace: target.namespace, name: target.name },
      repository: job.repositoryIdentity,
      commit: { sha: commit.sha, date: commit.date, author: commit.authorName, subject: commit.message.split("\n")[0] ?? "" },
      attempt: job.build.attempt,
      reason: job.build.reason,
      specHash: target.specHash,
      asOf: asOf ? asOf.toISOString() : null,
      lockSource,
      platforms: Object.fromEntries(lock.platforms.map((p) => [p, { environmentHash: hashes[p] as string, packages: lock.packages.filter((x) => x.platform === p).length }])),
      installed: installed ? { ...installed, reused: reusedPrefix } : null,
      requested: target.effective.dependencies,
      packages: packageRows.map((row, i) => ({ ...row, url: lock.packages[i]?.url ?? "", timestamp: lock.packages[i]?.timestamp ?? null })),
      timings,
      artifacts: rows.map((r) => ({ kind: r.kind, key: r.key, size: r.size, sha256: r.sha256, platform: r.platform })),
      worker: services.worker,
      startedAt: new Date(started).toISOString(),
      finishedAt: finishedAt.toISOString(),
      condaops: CONDAOPS_VERSION,
    };
    const recordKey = artifactKey(keyPrefix, "build.json", "build.json");
    const recordObj = await blobs.put(recordKey, `${JSON.stringify(record, null, 2)}\n`);
    stored.push(recordObj);
    rows.push({ buildId: job.build.id, kind: "build.json", key: recordKey, size: recordObj.size, sha256: recordObj.sha256, platform: null });

    // 4. beyond the store (the image pushed to a registry): only now that every object is stored,
    // so a build that fails never publishes there; a failure here still removes them.
    checkCanceled();
    const elsewhere = afterStored.length > 0 ? await step("publish", () => publishBeyondStore(phase, afterStored, made)) : [];
    if (afterStored.length > 0) timings.total = Date.now() - started;

    // 5. record: rows only now that everything is published (a cancel that came after a
    // successful push no longer stops the build); from here on nothing is deleted
    await store.addPackages(job.build.id, packageRows);
    for (const r of rows) await store.addArtifact(r);
    published = true;
    log.line(`published ${rows.length} artifacts to ${blobs.location}${elsewhere.length > 0 ? ` and ${elsewhere.join(", ")}` : ""}; succeeded in ${(timings.total / 1000).toFixed(1)} s`);
    const logObj = await log.close();
    await store.addArtifact({ buildId: job.build.id, kind: "log", key: logObj.key, size: logObj.size, sha256: logObj.sha256, platform: null });
    clearInterval(heartbeat);
    let build = await store.finishBuild(job.build.id, {
      state: "succeeded",
      timings,
      ...(installed ? { environmentHash: installed.environmentHash, platform: installed.platform, prefix: installed.prefix } : { environmentHash: hashes[lock.platforms[0] as string] as string }),
    });
    RUNNING.delete(job.build.id);

    // 6. current: the database decides (under a row lock, never rolling back to an older commit),
    // then the links follow it. A link that cannot be swapped is repaired from the database by
    // the next start (reconcileLinks); it does not undo a succeeded build.
    const current = await store.setCurrentIfNewer(job.build.environmentId, build.id);
    try {
      if (installed) await swapSymlink(layout.pinLink(target.namespace, target.name, commit.sha), installed.prefix);
      if (current) {
        if (installed) await swapSymlink(layout.envLink(target.namespace, target.name), installed.prefix);
        else await removeLink(layout.envLink(target.namespace, target.name));
      }
    } catch (e) {
      services.log(`${label}: warning: ${e instanceof Error ? e.message : String(e)} (the build succeeded; the link is repaired on the next start)`);
    }
    if (!current) services.log(`${label}: not made current: the current build is of a newer commit`);
    build = (await store.getBuild(build.id)) ?? build;
    await rm(workRoot, { recursive: true, force: true });
    return { build, packages: lock.packages.length, reusedPrefix };
  } catch (e) {
    clearInterval(heartbeat);
    RUNNING.delete(job.build.id);
    // Ctrl-C surfaces as Canceled at a step's start, or as the abort error of a step it interrupted.
    const canceled = e instanceof Canceled || (services.signal?.aborted === true && causedByAbort(e, services.signal));
    const message = canceled ? "canceled" : redactText(e instanceof Error ? e.message : String(e), secrets);
    const hintText = isCondaopsError(e) || e instanceof ArtifactFailed ? e.hint : undefined;
    const hint = hintText ? ` (${redactText(hintText, secrets)})` : "";
    if (published) {
      // The rows are written: the objects stay. Only the state could not be recorded; the next
      // start finds the build `building` with no live worker and fails it.
      services.log(`${label}: the build was published but could not be finished: ${message}${hint}`);
      throw e;
    }
    log.line(canceled ? "canceled before finishing" : `FAILED: ${message}${hint}`);
    const unexpected = e instanceof ArtifactFailed ? e.cause : e;
    if (!canceled && !isCondaopsError(unexpected) && unexpected instanceof Error && unexpected.stack) log.line(redactText(unexpected.stack, secrets));
    // Nothing half-published: objects stored by this attempt go, its log stays.
    for (const obj of stored) await blobs.delete(obj.key).catch(() => undefined);
    await rm(workRoot, { recursive: true, force: true }).catch(() => undefined);
    let logRow: ArtifactRow | undefined;
    try {
      const logObj = await log.close();
      logRow = { buildId: job.build.id, kind: "log", key: logObj.key, size: logObj.size, sha256: logObj.sha256, platform: null };
    } catch {
      await log.abort().catch(() => undefined);
    }
    if (logRow) await store.addArtifact(logRow);
    timings.total = Date.now() - started;
    const build = await store.finishBuild(job.build.id, { state: canceled ? "canceled" : "failed", error: `${message}${hint}`, timings });
    return { build, packages: 0, reusedPrefix: false };
  }
}
