/**
 * What condaops records about repositories, commits, environments and builds. The build job,
 * the CLI and (later) the service talk to the database only through `BuildStore`; the same
 * implementation runs on PostgreSQL (`pg`) and on embedded PGlite.
 */
import type { CommitInfo } from "../git/repository.ts";
import type { ArtifactKind } from "../spec/types.ts";

export type BuildState = "queued" | "building" | "succeeded" | "failed" | "canceled";

/** Why a build was made: the commit changed the environment, `--all`, `--env`, `--force`, or a retry after a crash. */
export type BuildReason = "changed" | "all" | "named" | "forced" | "retry";

/** A commit as recorded: exactly what git says about it. */
export type CommitRecord = CommitInfo;

export interface EnvironmentRow {
  id: number;
  repositoryId: number;
  namespace: string;
  name: string;
  currentBuildId: number | null;
  /** Set when a commit deleted the spec; the builds stay. */
  removedAtCommit: string | null;
}

export interface BuildRow {
  id: number;
  environmentId: number;
  namespace: string;
  name: string;
  commit: string;
  /** 1 for the first build of (environment, commit); `--force` and crash retries add attempts. */
  attempt: number;
  reason: BuildReason;
  state: BuildState;
  specHash: string;
  /** Environment hash of the installed platform (or of the first platform when none is installed). */
  environmentHash: string | null;
  /** The platform installed into `prefix`, when the host is one of the lock's platforms. */
  platform: string | null;
  /** Absolute path of the prefix under `<state>/builds/`. */
  prefix: string | null;
  /** `<hostname>:<pid>` of the process building it. */
  worker: string | null;
  error: string | null;
  /** Milliseconds per phase (`solve`, `install`, `artifacts`, `publish`, `total`). */
  timings: Record<string, number>;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  /** Set when retention removed the build's prefix and its artifacts other than `keep_on_delete`. */
  prunedAt: string | null;
}

/** A build with its commit's date (the order retention keeps builds in). */
export interface BuildWithCommit extends BuildRow {
  committedAt: string | null;
}

export interface BuildPackageRow {
  platform: string;
  name: string;
  version: string;
  build: string;
  channel: string;
  subdir: string;
  sha256: string;
  license: string | null;
  /** Named in the effective spec (true) or pulled in as a dependency (false). */
  requested: boolean;
}

export interface ArtifactRow {
  buildId: number;
  kind: ArtifactKind | "build.json";
  /** Storage key, `builds/<ns>/<name>/<commit>/<kind>/<file>`. */
  key: string;
  size: number;
  sha256: string;
  /** For per-platform artifacts (explicit, yaml); null otherwise. */
  platform: string | null;
}

export interface NewBuild {
  environmentId: number;
  commit: string;
  specHash: string;
  reason: BuildReason;
  attempt: number;
}

export interface FinishedBuild {
  state: Extract<BuildState, "succeeded" | "failed" | "canceled">;
  error?: string;
  environmentHash?: string;
  platform?: string;
  prefix?: string;
  timings?: Record<string, number>;
}

export interface BuildStore {
  /** Upserts a repository by its URL or absolute path; returns its id. */
  ensureRepository(url: string): Promise<number>;
  /** Records commits (ignores ones already known). */
  recordCommits(repositoryId: number, commits: readonly CommitRecord[]): Promise<void>;
  /** Which of `shas` are already recorded. */
  knownCommits(repositoryId: number, shas: readonly string[]): Promise<Set<string>>;
  /** Upserts namespace and environment; clears `removedAtCommit` when the environment reappears. */
  ensureEnvironment(repositoryId: number, namespace: string, name: string): Promise<EnvironmentRow>;
  getEnvironment(repositoryId: number, namespace: string, name: string): Promise<EnvironmentRow | undefined>;
  listEnvironments(repositoryId: number): Promise<EnvironmentRow[]>;
  markEnvironmentRemoved(environmentId: number, commit: string): Promise<void>;
  /** Stores an effective spec by its hash (idempotent). */
  recordSpecification(specHash: string, effective: unknown): Promise<void>;

  /** The newest attempt for (environment, commit), if any. */
  latestAttempt(environmentId: number, commit: string): Promise<BuildRow | undefined>;
  /** Inserts a queued build; a concurrent insert of the same (environment, commit, attempt) raises a ConflictError. */
  createBuild(build: NewBuild): Promise<BuildRow>;
  /** queued -> building; false when the build was not queued (another worker took it). */
  startBuild(buildId: number, worker: string): Promise<boolean>;
  heartbeat(buildId: number): Promise<void>;
  /** building (or queued, for cancel) -> a final state. */
  finishBuild(buildId: number, result: FinishedBuild): Promise<BuildRow>;
  getBuild(buildId: number): Promise<BuildRow | undefined>;
  buildsInState(state: BuildState): Promise<BuildRow[]>;

  addPackages(buildId: number, packages: readonly BuildPackageRow[]): Promise<void>;
  listPackages(buildId: number): Promise<BuildPackageRow[]>;
  /** Call only after the object is stored: a row never points at a missing object. */
  addArtifact(artifact: ArtifactRow): Promise<void>;
  listArtifacts(buildId: number): Promise<ArtifactRow[]>;

  /** The repository recorded under this URL or path, if any (read-only commands never create one). */
  findRepository(url: string): Promise<number | undefined>;
  /** Every build of an environment, newest commit first (then newest attempt). */
  listBuilds(environmentId: number): Promise<BuildWithCommit[]>;
  /**
   * Retention, first step: deletes a build's artifact rows except the `keep` kinds (and
   * build.json); returns them. Their objects are deleted next (rows first: a row never points at
   * a deleted object), then `markPruned` once everything is gone, so an interrupted run is
   * simply done again.
   */
  removeArtifactRows(buildId: number, keep: readonly string[]): Promise<ArtifactRow[]>;
  /** Marks a build pruned; if it was its environment's current build (a removed environment), the environment has none now. */
  markPruned(buildId: number): Promise<void>;
  /** Builds not pruned (succeeded or building) that use this prefix (matched by its folder name under `builds/`). */
  prefixUsers(prefix: string): Promise<number[]>;
  /** Records the prefix a build is about to reuse or install, under the prefix lock (see `releasePrefix`). */
  claimPrefix(buildId: number, prefix: string): Promise<void>;
  /**
   * Runs `release` (moving the prefix out of the way) under the prefix lock, only when no live
   * build other than `leaving` uses the prefix; false when one does (nothing is run).
   */
  releasePrefix(prefix: string, leaving: readonly number[], release: () => Promise<void>): Promise<boolean>;

  /**
   * Makes a succeeded build current unless the current build is of a newer commit (one whose
   * recorded first-parent history contains this build's commit): building an old commit never
   * rolls an environment back. Decided under a row lock; true when it became current.
   */
  setCurrentIfNewer(environmentId: number, buildId: number): Promise<boolean>;
  /** Makes a succeeded build the environment's current one, unconditionally. */
  setCurrent(environmentId: number, buildId: number): Promise<void>;
  /**
   * `ns/name@REF`: REF is `current`, a full or abbreviated (>= 7 hex) commit, or an environment
   * hash (full or >= 12 hex). A commit without a build of this environment resolves, through the
   * recorded first-parent history, to the latest earlier commit with a succeeded build.
   */
  resolveBuild(repositoryId: number, namespace: string, name: string, ref: string): Promise<BuildRow | undefined>;

  close(): Promise<void>;
}
