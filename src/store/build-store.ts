/**
 * The `BuildStore` queries, written once for both engines. Every value travels as a `$n`
 * parameter (bulk rows as one JSON parameter), names are compared with `=` and prefixes with
 * `left()`, never LIKE, so no namespace, name or ref is ever read as SQL or as a pattern.
 * Rows come back snake_case and are mapped here to the camelCase types of `types.ts`.
 */
import { InfraError, InputError, UsageError } from "../errors.ts";
import { FOREIGN_KEY_VIOLATION, StoreQueryError, UNIQUE_VIOLATION } from "./database.ts";
import type { Database } from "./database.ts";
import type {
  ArtifactRow,
  BuildPackageRow,
  BuildRow,
  BuildState,
  BuildStore,
  CommitRecord,
  EnvironmentRow,
  FinishedBuild,
  NewBuild,
} from "./types.ts";

/** `createBuild` lost the race: that (environment, commit, attempt) exists already. */
export class BuildConflictError extends InfraError {
  constructor(build: NewBuild, cause: unknown) {
    super("store.build-exists", `a build of environment ${build.environmentId} at ${build.commit} attempt ${build.attempt} exists already`, {
      hint: "another worker queued it first: use latestAttempt() and skip, or create the next attempt",
      cause,
    });
  }
}

/** Shortest abbreviated commit and environment hash `resolveBuild` accepts, as in the DESIGN's references. */
const MIN_COMMIT_PREFIX = 7;
const MIN_HASH_PREFIX = 12;
/** Guards the first-parent walk against a corrupt (cyclic) history; real histories end long before. */
const MAX_WALK = 1_000_000;

type Timestamp = Date | string;

interface BuildRecord {
  id: number | string;
  environment_id: number | string;
  namespace: string;
  name: string;
  commit_sha: string;
  attempt: number | string;
  reason: BuildRow["reason"];
  state: BuildState;
  spec_hash: string;
  environment_hash: string | null;
  platform: string | null;
  prefix: string | null;
  worker: string | null;
  error: string | null;
  timings: Record<string, number> | null;
  queued_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  heartbeat_at: Timestamp | null;
  pruned_at: Timestamp | null;
  committed_at?: Timestamp | null;
}

interface EnvironmentRecord {
  id: number | string;
  repository_id: number | string;
  namespace: string;
  name: string;
  current_build_id: number | string | null;
  removed_at_commit: string | null;
}

/** The package columns are single words: the row type is the record type. */
type PackageRecord = BuildPackageRow;

interface ArtifactRecord {
  build_id: number | string;
  kind: ArtifactRow["kind"];
  key: string;
  size: number | string;
  sha256: string;
  platform: string | null;
}

const BUILD_COLUMNS = `b.id, b.environment_id, n.name AS namespace, e.name AS name, b.commit_sha, b.attempt, b.reason, b.state,
  b.spec_hash, b.environment_hash, b.platform, b.prefix, b.worker, b.error, b.timings,
  b.queued_at, b.started_at, b.finished_at, b.heartbeat_at, b.pruned_at`;
const BUILD_FROM = `builds b JOIN environments e ON e.id = b.environment_id JOIN namespaces n ON n.id = e.namespace_id`;

/**
 * Prefix reuse and removal take this lock (a transaction-scoped advisory lock on the path): a
 * build records the prefix it will use under it before looking whether it exists, and gc moves a
 * prefix away under it only when no live build records it. Either gc sees the build, or the
 * build sees the prefix gone and installs it again.
 */
const PREFIX_LOCK = "SELECT pg_advisory_xact_lock(hashtext('condaops.prefix:' || $1))";
/**
 * Matched by the folder's name under `builds/`, not its whole path: the state folder may have
 * been moved or reached through another path since the path was recorded, and a name that
 * matches more than it should only keeps a prefix longer.
 */
const LIVE_PREFIX_USERS =
  "SELECT id FROM builds WHERE right(prefix, length($1) + 1) = '/' || $1 AND pruned_at IS NULL AND state IN ('succeeded', 'building') ORDER BY id";

const prefixName = (prefix: string): string => prefix.slice(prefix.lastIndexOf("/") + 1);

const ENVIRONMENT_SELECT = `SELECT e.id, n.repository_id, n.name AS namespace, e.name, e.current_build_id, e.removed_at_commit
  FROM environments e JOIN namespaces n ON n.id = e.namespace_id`;

export function createBuildStore(db: Database): BuildStore {
  const getBuild = async (buildId: number): Promise<BuildRow | undefined> => {
    const rows = await db.query<BuildRecord>(`SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.id = $1`, [buildId]);
    return rows[0] && toBuild(rows[0]);
  };
  const mustGetBuild = async (buildId: number): Promise<BuildRow> => {
    const build = await getBuild(buildId);
    if (!build) throw new InfraError("store.build-missing", `build ${buildId} does not exist`);
    return build;
  };
  const getEnvironment = async (repositoryId: number, namespace: string, name: string): Promise<EnvironmentRow | undefined> => {
    const rows = await db.query<EnvironmentRecord>(`${ENVIRONMENT_SELECT} WHERE n.repository_id = $1 AND n.name = $2 AND e.name = $3`, [
      repositoryId,
      namespace,
      name,
    ]);
    return rows[0] && toEnvironment(rows[0]);
  };

  /** Distinct commit shas starting with `prefix`: this environment's builds and the repository's recorded commits. */
  const commitsMatching = async (repositoryId: number, environmentId: number, prefix: string): Promise<string[]> => {
    if (prefix.length === 40 || prefix.length === 64) {
      // A full sha: equality, so the primary key answers (a prefix match reads every commit).
      const exact = await db.query<{ sha: string }>(
        `SELECT $3::text AS sha WHERE EXISTS (SELECT 1 FROM builds WHERE environment_id = $1 AND commit_sha = $3)
            OR EXISTS (SELECT 1 FROM commits WHERE repository_id = $2 AND sha = $3)`,
        [environmentId, repositoryId, prefix],
      );
      return exact.map((r) => r.sha);
    }
    const rows = await db.query<{ sha: string }>(
      `SELECT sha FROM (
         SELECT commit_sha AS sha FROM builds WHERE environment_id = $1 AND left(commit_sha, length($3::text)) = $3::text
         UNION
         SELECT sha FROM commits WHERE repository_id = $2 AND left(sha, length($3::text)) = $3::text
       ) AS matches ORDER BY sha LIMIT 3`,
      [environmentId, repositoryId, prefix],
    );
    return rows.map((r) => r.sha);
  };

  const ambiguous = (namespace: string, name: string, ref: string, what: string, matches: string[]): UsageError =>
    new UsageError("ref.ambiguous", `${namespace}/${name}@${ref} is ambiguous: it matches ${what} ${matches.slice(0, 2).map((m) => m.slice(0, 12)).join(", ")}${matches.length > 2 ? ", ..." : ""}`, {
      hint: "give more characters of the commit or hash",
    });

  return {
    async ensureRepository(url) {
      // DO UPDATE (not NOTHING) so RETURNING answers also when the row exists, race-free.
      const rows = await db.query<{ id: number | string }>(
        "INSERT INTO repositories (url) VALUES ($1) ON CONFLICT (url) DO UPDATE SET url = EXCLUDED.url RETURNING id",
        [url],
      );
      return Number(first(rows, "repository").id);
    },

    async recordCommits(repositoryId, commits) {
      if (commits.length === 0) return;
      const json = JSON.stringify(
        commits.map((c: CommitRecord) => ({
          sha: c.sha.toLowerCase(),
          parents: c.parents.map((p) => p.toLowerCase()),
          author_name: c.authorName,
          author_email: c.authorEmail,
          committed_at: c.date,
          message: c.message,
        })),
      );
      await db.query(
        `INSERT INTO commits (repository_id, sha, parents, author_name, author_email, committed_at, message)
         SELECT $1, c.sha, ARRAY(SELECT jsonb_array_elements_text(c.parents)), c.author_name, c.author_email, c.committed_at::timestamptz, c.message
         FROM jsonb_to_recordset($2::jsonb) AS c(sha text, parents jsonb, author_name text, author_email text, committed_at text, message text)
         ON CONFLICT (repository_id, sha) DO NOTHING`,
        [repositoryId, json],
      );
    },

    async knownCommits(repositoryId, shas) {
      if (shas.length === 0) return new Set();
      const rows = await db.query<{ sha: string }>(
        "SELECT sha FROM commits WHERE repository_id = $1 AND sha IN (SELECT jsonb_array_elements_text($2::jsonb))",
        [repositoryId, JSON.stringify(shas.map((s) => s.toLowerCase()))],
      );
      const known = new Set(rows.map((r) => r.sha));
      // Answer in the caller's spelling.
      return new Set(shas.filter((s) => known.has(s.toLowerCase())));
    },

    async ensureEnvironment(repositoryId, namespace, name) {
      const rows = await db.query<EnvironmentRecord>(
        `WITH ns AS (
           INSERT INTO namespaces (repository_id, name) VALUES ($1, $2)
           ON CONFLICT (repository_id, name) DO UPDATE SET name = EXCLUDED.name
           RETURNING id, repository_id, name
         ), env AS (
           INSERT INTO environments (namespace_id, name) SELECT id, $3 FROM ns
           ON CONFLICT (namespace_id, name) DO UPDATE SET removed_at_commit = NULL
           RETURNING id, namespace_id, name, current_build_id, removed_at_commit
         )
         SELECT env.id, ns.repository_id, ns.name AS namespace, env.name, env.current_build_id, env.removed_at_commit
         FROM env JOIN ns ON ns.id = env.namespace_id`,
        [repositoryId, namespace, name],
      );
      return toEnvironment(first(rows, "environment"));
    },

    getEnvironment,

    async listEnvironments(repositoryId) {
      const rows = await db.query<EnvironmentRecord>(`${ENVIRONMENT_SELECT} WHERE n.repository_id = $1 ORDER BY n.name, e.name`, [repositoryId]);
      return rows.map(toEnvironment);
    },

    async markEnvironmentRemoved(environmentId, commit) {
      const rows = await db.query("UPDATE environments SET removed_at_commit = $2 WHERE id = $1 RETURNING id", [environmentId, commit.toLowerCase()]);
      if (rows.length === 0) throw new InfraError("store.environment-missing", `environment ${environmentId} does not exist`);
    },

    async recordSpecification(specHash, effective) {
      await db.query("INSERT INTO specifications (spec_hash, effective) VALUES ($1, $2::jsonb) ON CONFLICT (spec_hash) DO NOTHING", [
        specHash,
        JSON.stringify(effective ?? null),
      ]);
    },

    async latestAttempt(environmentId, commit) {
      const rows = await db.query<BuildRecord>(
        `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.environment_id = $1 AND b.commit_sha = $2 ORDER BY b.attempt DESC LIMIT 1`,
        [environmentId, commit.toLowerCase()],
      );
      return rows[0] && toBuild(rows[0]);
    },

    async createBuild(build) {
      let rows: { id: number | string }[];
      try {
        rows = await db.query<{ id: number | string }>(
          `INSERT INTO builds (environment_id, commit_sha, attempt, reason, spec_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
          [build.environmentId, build.commit.toLowerCase(), build.attempt, build.reason, build.specHash],
        );
      } catch (e) {
        if (e instanceof StoreQueryError && e.sqlState === UNIQUE_VIOLATION && e.constraint === "builds_attempt_unique") {
          throw new BuildConflictError(build, e);
        }
        if (e instanceof StoreQueryError && e.sqlState === FOREIGN_KEY_VIOLATION && e.constraint === "builds_spec_hash_fkey") {
          throw new InfraError("store.spec-missing", `specification ${build.specHash} is not recorded`, {
            hint: "call recordSpecification() before createBuild()",
            cause: e,
          });
        }
        throw e;
      }
      return mustGetBuild(Number(first(rows, "build").id));
    },

    async startBuild(buildId, worker) {
      const rows = await db.query(
        "UPDATE builds SET state = 'building', worker = $2, started_at = now(), heartbeat_at = now() WHERE id = $1 AND state = 'queued' RETURNING id",
        [buildId, worker],
      );
      return rows.length > 0;
    },

    async heartbeat(buildId) {
      await db.query("UPDATE builds SET heartbeat_at = now() WHERE id = $1 AND state = 'building'", [buildId]);
    },

    async finishBuild(buildId, result: FinishedBuild) {
      // Only a running build finishes (a queued one may be canceled): a succeeded build never changes.
      const rows = await db.query(
        `UPDATE builds SET state = $2, error = $3,
           environment_hash = coalesce($4, environment_hash), platform = coalesce($5, platform), prefix = coalesce($6, prefix),
           timings = coalesce($7::jsonb, timings), finished_at = now()
         WHERE id = $1 AND (state = 'building' OR (state = 'queued' AND $2 = 'canceled'))
         RETURNING id`,
        [
          buildId,
          result.state,
          result.error ?? null,
          result.environmentHash ?? null,
          result.platform ?? null,
          result.prefix ?? null,
          result.timings === undefined ? null : JSON.stringify(result.timings),
        ],
      );
      const build = await mustGetBuild(buildId);
      if (rows.length === 0) {
        throw new InfraError("store.build-state", `build ${buildId} is ${build.state}: only a building build can become ${result.state}`);
      }
      return build;
    },

    getBuild,

    async buildsInState(state) {
      const rows = await db.query<BuildRecord>(`SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.state = $1 ORDER BY b.queued_at, b.id`, [state]);
      return rows.map(toBuild);
    },

    async addPackages(buildId, packages) {
      if (packages.length === 0) return;
      await db.query(
        `INSERT INTO build_packages (build_id, platform, name, version, build, channel, subdir, sha256, license, requested)
         SELECT $1, p.platform, p.name, p.version, p.build, p.channel, p.subdir, p.sha256, p.license, p.requested
         FROM jsonb_to_recordset($2::jsonb) AS p(platform text, name text, version text, build text, channel text, subdir text,
                                                 sha256 text, license text, requested boolean)`,
        [buildId, JSON.stringify(packages.map((p: BuildPackageRow) => ({ ...p, license: p.license ?? null })))],
      );
    },

    async listPackages(buildId) {
      const rows = await db.query<PackageRecord>(
        `SELECT platform, name, version, build, channel, subdir, sha256, license, requested FROM build_packages
         WHERE build_id = $1 ORDER BY platform, name, channel, subdir, version, build`,
        [buildId],
      );
      return rows.map((r) => ({ ...r }));
    },

    async addArtifact(artifact) {
      const inserted = await db.query(
        `INSERT INTO artifacts (build_id, kind, key, size, sha256, platform) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (build_id, key) DO NOTHING RETURNING key`,
        [artifact.buildId, artifact.kind, artifact.key, artifact.size, artifact.sha256, artifact.platform],
      );
      if (inserted.length > 0) return;
      // A retried publish of the same object is fine; a different object under the same key is not.
      const existing = await db.query<ArtifactRecord>("SELECT build_id, kind, key, size, sha256, platform FROM artifacts WHERE build_id = $1 AND key = $2", [
        artifact.buildId,
        artifact.key,
      ]);
      const same = existing[0] && toArtifact(existing[0]);
      if (!same || same.kind !== artifact.kind || same.size !== artifact.size || same.sha256 !== artifact.sha256 || same.platform !== artifact.platform) {
        throw new InfraError("store.artifact-exists", `build ${artifact.buildId} already has a different artifact at ${artifact.key}`);
      }
    },

    async listArtifacts(buildId) {
      const rows = await db.query<ArtifactRecord>("SELECT build_id, kind, key, size, sha256, platform FROM artifacts WHERE build_id = $1 ORDER BY key", [
        buildId,
      ]);
      return rows.map(toArtifact);
    },

    async findRepository(url) {
      const rows = await db.query<{ id: number | string }>("SELECT id FROM repositories WHERE url = $1", [url]);
      return rows[0] ? Number(rows[0].id) : undefined;
    },

    async listBuilds(environmentId) {
      const rows = await db.query<BuildRecord>(
        `SELECT ${BUILD_COLUMNS}, c.committed_at FROM ${BUILD_FROM}
         LEFT JOIN commits c ON c.repository_id = (SELECT repository_id FROM namespaces WHERE id = e.namespace_id) AND c.sha = b.commit_sha
         WHERE b.environment_id = $1 ORDER BY c.committed_at DESC NULLS LAST, b.id DESC`,
        [environmentId],
      );
      return rows.map((r) => ({ ...toBuild(r), committedAt: isoOrNull(r.committed_at ?? null) }));
    },

    async removeArtifactRows(buildId, keep) {
      const kept = [...new Set<string>([...keep, "build.json"])];
      const removed = await db.query<ArtifactRecord>(
        "DELETE FROM artifacts WHERE build_id = $1 AND NOT (kind = ANY($2::text[])) RETURNING build_id, kind, key, size, sha256, platform",
        [buildId, kept],
      );
      return removed.map(toArtifact).sort((a, b) => a.key.localeCompare(b.key));
    },

    async markPruned(buildId) {
      await db.transaction(async (tx) => {
        await tx.query("UPDATE builds SET pruned_at = coalesce(pruned_at, now()) WHERE id = $1", [buildId]);
        // Only a removed environment's current build is ever pruned: it is current no more.
        await tx.query("UPDATE environments SET current_build_id = NULL WHERE current_build_id = $1", [buildId]);
      });
    },

    async prefixUsers(prefix) {
      const rows = await db.query<{ id: number | string }>(LIVE_PREFIX_USERS, [prefixName(prefix)]);
      return rows.map((r) => Number(r.id));
    },

    async claimPrefix(buildId, prefix) {
      await db.transaction(async (tx) => {
        await tx.query(PREFIX_LOCK, [prefixName(prefix)]);
        await tx.query("UPDATE builds SET prefix = $2 WHERE id = $1", [buildId, prefix]);
      });
    },

    async releasePrefix(prefix, leaving, release) {
      return db.transaction(async (tx) => {
        await tx.query(PREFIX_LOCK, [prefixName(prefix)]);
        const users = await tx.query<{ id: number | string }>(LIVE_PREFIX_USERS, [prefixName(prefix)]);
        if (users.some((u) => !leaving.includes(Number(u.id)))) return false;
        await release();
        return true;
      });
    },

    async setCurrentIfNewer(environmentId, buildId) {
      return db.transaction(async (tx) => {
        // The environment row is locked, so two workers finishing at once decide one after the other.
        const env = await tx.query<{ current_build_id: number | string | null; current_commit: string | null; repository_id: number | string }>(
          `SELECT e.current_build_id, cb.commit_sha AS current_commit, n.repository_id
           FROM environments e JOIN namespaces n ON n.id = e.namespace_id LEFT JOIN builds cb ON cb.id = e.current_build_id
           WHERE e.id = $1 FOR UPDATE OF e`,
          [environmentId],
        );
        const row = env[0];
        if (!row) throw new InputError("build.not-succeeded", `environment ${environmentId} does not exist`);
        const build = await tx.query<{ commit_sha: string }>("SELECT commit_sha FROM builds WHERE id = $1 AND environment_id = $2 AND state = 'succeeded'", [buildId, environmentId]);
        const commit = build[0]?.commit_sha;
        if (commit === undefined) {
          throw new InputError("build.not-succeeded", `build ${buildId} is not a succeeded build of environment ${environmentId}`, {
            hint: "only a succeeded build of the same environment can become current",
          });
        }
        let newer = row.current_commit === null || row.current_commit === commit;
        if (!newer) {
          // Newer means: the current build's commit is on this commit's recorded first-parent history.
          const onChain = await tx.query(
            `WITH RECURSIVE chain (sha, depth) AS (
               SELECT $2::text, 0
               UNION ALL
               SELECT c.first_parent, chain.depth + 1 FROM chain JOIN commits c ON c.repository_id = $1 AND c.sha = chain.sha
               WHERE c.first_parent IS NOT NULL AND chain.sha <> $3 AND chain.depth < $4
             )
             SELECT 1 FROM chain WHERE sha = $3 LIMIT 1`,
            [Number(row.repository_id), commit, row.current_commit, MAX_WALK],
          );
          newer = onChain.length > 0;
          // A current commit this repository never recorded (history rewritten): the new build wins.
          if (!newer) newer = (await tx.query("SELECT 1 FROM commits WHERE repository_id = $1 AND sha = $2", [Number(row.repository_id), row.current_commit])).length === 0;
        }
        if (!newer) return false;
        await tx.query("UPDATE environments SET current_build_id = $2 WHERE id = $1", [environmentId, buildId]);
        return true;
      });
    },

    async setCurrent(environmentId, buildId) {
      const rows = await db.query(
        `UPDATE environments SET current_build_id = $2
         WHERE id = $1 AND EXISTS (SELECT 1 FROM builds WHERE id = $2 AND environment_id = $1 AND state = 'succeeded')
         RETURNING id`,
        [environmentId, buildId],
      );
      if (rows.length === 0) {
        throw new InputError("build.not-succeeded", `build ${buildId} is not a succeeded build of environment ${environmentId}`, {
          hint: "only a succeeded build of the same environment can become current",
        });
      }
    },

    async resolveBuild(repositoryId, namespace, name, ref) {
      const env = await getEnvironment(repositoryId, namespace, name);
      if (!env) return undefined;
      if (ref === "current") return env.currentBuildId === null ? undefined : getBuild(env.currentBuildId);

      const hex = ref.toLowerCase();
      if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_COMMIT_PREFIX || hex.length > 64) return undefined;

      const commits = await commitsMatching(repositoryId, env.id, hex);
      if (commits.length > 1) throw ambiguous(namespace, name, ref, "commits", commits);
      const sha = commits[0];
      if (sha !== undefined) {
        // Built at that very commit: its newest succeeded attempt, else its newest attempt (so a failure shows).
        const atCommit = await db.query<BuildRecord>(
          `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.environment_id = $1 AND b.commit_sha = $2
           ORDER BY (b.state = 'succeeded') DESC, b.attempt DESC LIMIT 1`,
          [env.id, sha],
        );
        if (atCommit[0]) return toBuild(atCommit[0]);
        // Not built there: the nearest first-parent ancestor with a succeeded build. The walk stops
        // at the first such commit, so it reads only the commits between.
        const walked = await db.query<BuildRecord>(
          `WITH RECURSIVE chain (sha, depth) AS (
             SELECT $2::text, 0
             UNION ALL
             SELECT c.first_parent, chain.depth + 1
             FROM chain JOIN commits c ON c.repository_id = $3 AND c.sha = chain.sha
             WHERE c.first_parent IS NOT NULL AND chain.depth < $4
               AND NOT EXISTS (SELECT 1 FROM builds s WHERE s.environment_id = $1 AND s.commit_sha = chain.sha AND s.state = 'succeeded')
           )
           SELECT ${BUILD_COLUMNS} FROM chain, ${BUILD_FROM}
           WHERE b.commit_sha = chain.sha AND b.environment_id = $1 AND b.state = 'succeeded'
           ORDER BY chain.depth, b.attempt DESC LIMIT 1`,
          [env.id, sha, repositoryId, MAX_WALK],
        );
        return walked[0] && toBuild(walked[0]);
      }

      if (hex.length < MIN_HASH_PREFIX) return undefined;
      const hashes = await db.query<{ environment_hash: string }>(
        `SELECT DISTINCT environment_hash FROM builds
         WHERE environment_id = $1 AND state = 'succeeded' AND left(environment_hash, length($2::text)) = $2::text
         ORDER BY environment_hash LIMIT 3`,
        [env.id, hex],
      );
      if (hashes.length > 1) throw ambiguous(namespace, name, ref, "environment hashes", hashes.map((h) => h.environment_hash));
      const hash = hashes[0]?.environment_hash;
      if (hash === undefined) return undefined;
      const rows = await db.query<BuildRecord>(
        `SELECT ${BUILD_COLUMNS} FROM ${BUILD_FROM} WHERE b.environment_id = $1 AND b.state = 'succeeded' AND b.environment_hash = $2
         ORDER BY b.finished_at DESC NULLS LAST, b.id DESC LIMIT 1`,
        [env.id, hash],
      );
      return rows[0] && toBuild(rows[0]);
    },

    close: () => db.close(),
  };
}

function first<T>(rows: T[], what: string): T {
  const row = rows[0];
  if (row === undefined) throw new InfraError("store.query", `the database returned no ${what} row`);
  return row;
}

function iso(t: Timestamp): string {
  return (t instanceof Date ? t : new Date(t)).toISOString();
}

function isoOrNull(t: Timestamp | null): string | null {
  return t === null ? null : iso(t);
}

function toBuild(r: BuildRecord): BuildRow {
  return {
    id: Number(r.id),
    environmentId: Number(r.environment_id),
    namespace: r.namespace,
    name: r.name,
    commit: r.commit_sha,
    attempt: Number(r.attempt),
    reason: r.reason,
    state: r.state,
    specHash: r.spec_hash,
    environmentHash: r.environment_hash,
    platform: r.platform,
    prefix: r.prefix,
    worker: r.worker,
    error: r.error,
    timings: r.timings ?? {},
    queuedAt: iso(r.queued_at),
    startedAt: isoOrNull(r.started_at),
    finishedAt: isoOrNull(r.finished_at),
    heartbeatAt: isoOrNull(r.heartbeat_at),
    prunedAt: isoOrNull(r.pruned_at),
  };
}

function toEnvironment(r: EnvironmentRecord): EnvironmentRow {
  return {
    id: Number(r.id),
    repositoryId: Number(r.repository_id),
    namespace: r.namespace,
    name: r.name,
    currentBuildId: r.current_build_id === null ? null : Number(r.current_build_id),
    removedAtCommit: r.removed_at_commit,
  };
}

function toArtifact(r: ArtifactRecord): ArtifactRow {
  return { buildId: Number(r.build_id), kind: r.kind, key: r.key, size: Number(r.size), sha256: r.sha256, platform: r.platform };
}
