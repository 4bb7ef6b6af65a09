import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { InfraError, InputError, UsageError } from "../../src/errors.ts";
import { BuildConflictError, createBuildStore } from "../../src/store/build-store.ts";
import type { Database } from "../../src/store/database.ts";
import { migrate } from "../../src/store/migrate.ts";
import { migrations } from "../../src/store/migrations/index.ts";
import { openDatabase } from "../../src/store/open-store.ts";
import type { BuildPackageRow, BuildRow, BuildStore, CommitRecord, FinishedBuild } from "../../src/store/types.ts";
import { testDatabases } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

const sha = (label: string): string => createHash("sha1").update(label).digest("hex");
const hash = (label: string): string => createHash("sha256").update(label).digest("hex");
const SPEC = hash("spec");

function commit(id: string, parents: string[], extra: Partial<CommitRecord> = {}): CommitRecord {
  return { sha: id, parents, authorName: "Ada Lovelace", authorEmail: "ada@example.org", date: "2024-03-01T10:00:00.000Z", message: `commit ${id}`, ...extra };
}

async function built(store: BuildStore, environmentId: number, at: string, result: Partial<FinishedBuild> = {}, attempt = 1): Promise<BuildRow> {
  const build = await store.createBuild({ environmentId, commit: at, specHash: SPEC, reason: "changed", attempt });
  assert.equal(await store.startBuild(build.id, "test:1"), true);
  return store.finishBuild(build.id, { state: "succeeded", environmentHash: hash(`${environmentId}-${at}-${attempt}`), ...result });
}

for (const backend of testDatabases()) {
  describe(`BuildStore on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    let store: BuildStore;

    before(async () => {
      t = await backend.open();
      db = t.db;
      store = createBuildStore(db);
    });
    after(async () => {
      await t?.drop();
    });

    test("concurrent migrate() on a fresh database applies each migration once, in order, and records it", async () => {
      let applied: string[][];
      if (t.url) {
        // Two processes: two pools on the same database, racing.
        const [a, b] = [await openDatabase({ url: t.url }), await openDatabase({ url: t.url })];
        try {
          applied = await Promise.all([migrate(a), migrate(b)]);
        } finally {
          await Promise.all([a.close(), b.close()]);
        }
      } else {
        applied = await Promise.all([migrate(db), migrate(db)]);
      }
      const ids = migrations.map((m) => m.id);
      assert.deepEqual(applied.flat().sort(), [...ids].sort(), "every migration applied by exactly one caller");
      const rows = await db.query<{ id: string }>("SELECT id FROM schema_migrations ORDER BY applied_at, id");
      assert.deepEqual(rows.map((r) => r.id), ids);
      const tables = await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
      );
      assert.deepEqual(
        tables.map((r) => r.table_name),
        ["artifacts", "build_packages", "builds", "commits", "environments", "namespaces", "repositories", "schema_migrations", "specifications"],
      );
      await store.recordSpecification(SPEC, { name: "base", dependencies: ["python 3.11.*"] });
    });

    test("migrate() again is a no-op", async () => {
      const before = await db.query<{ id: string; applied_at: Date }>("SELECT id, applied_at FROM schema_migrations ORDER BY id");
      assert.deepEqual(await migrate(db), []);
      assert.deepEqual(await db.query("SELECT id, applied_at FROM schema_migrations ORDER BY id"), before);
    });

    test("a build's whole lifecycle", async () => {
      const repo = await store.ensureRepository("/srv/environments-lifecycle");
      assert.equal(await store.ensureRepository("/srv/environments-lifecycle"), repo);
      const [a, b] = [sha("lifecycle-a"), sha("lifecycle-b")];
      await store.recordCommits(repo, [commit(a, []), commit(b, [a])]);
      await store.recordCommits(repo, [commit(b, [a])]);
      assert.deepEqual(await store.knownCommits(repo, [a, sha("unknown"), b]), new Set([a, b]));
      assert.deepEqual(await store.knownCommits(repo, []), new Set());

      const env = await store.ensureEnvironment(repo, "data-science", "py311");
      assert.deepEqual(env, { id: env.id, repositoryId: repo, namespace: "data-science", name: "py311", currentBuildId: null, removedAtCommit: null });
      assert.deepEqual(await store.ensureEnvironment(repo, "data-science", "py311"), env);
      assert.deepEqual(await store.getEnvironment(repo, "data-science", "py311"), env);
      assert.equal(await store.getEnvironment(repo, "data-science", "py312"), undefined);
      await store.recordSpecification(SPEC, { other: "content is ignored: the hash is the key" });

      assert.equal(await store.latestAttempt(env.id, a), undefined);
      const queued = await store.createBuild({ environmentId: env.id, commit: a, specHash: SPEC, reason: "changed", attempt: 1 });
      assert.equal(queued.state, "queued");
      assert.equal(queued.namespace, "data-science");
      assert.equal(queued.name, "py311");
      assert.equal(queued.commit, a);
      assert.equal(queued.attempt, 1);
      assert.equal(queued.reason, "changed");
      assert.equal(queued.specHash, SPEC);
      assert.deepEqual(queued.timings, {});
      assert.match(queued.queuedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(queued.startedAt, null);
      assert.equal(queued.finishedAt, null);
      assert.equal(typeof queued.id, "number");
      assert.deepEqual(await store.latestAttempt(env.id, a), queued);

      assert.equal(await store.startBuild(queued.id, "host-1:4242"), true);
      assert.equal(await store.startBuild(queued.id, "host-2:99"), false, "the second worker does not take it");
      const building = await store.getBuild(queued.id);
      assert.equal(building?.state, "building");
      assert.equal(building?.worker, "host-1:4242");
      assert.ok(building?.startedAt && building.heartbeatAt);
      await store.heartbeat(queued.id);

      const packages: BuildPackageRow[] = [
        { platform: "linux-64", name: "python", version: "3.11.8", build: "hab00c5b_0_cpython", channel: "https://conda.anaconda.org/conda-forge", subdir: "linux-64", sha256: hash("python"), license: "Python-2.0", requested: true },
        { platform: "linux-64", name: "libzlib", version: "1.3.1", build: "h4ab18f5_1", channel: "https://conda.anaconda.org/conda-forge", subdir: "linux-64", sha256: hash("zlib"), license: null, requested: false },
        { platform: "osx-arm64", name: "python", version: "3.11.8", build: "hdf0ec26_0_cpython", channel: "https://conda.anaconda.org/conda-forge", subdir: "osx-arm64", sha256: hash("python-osx"), license: "Python-2.0", requested: true },
      ];
      await store.addPackages(queued.id, packages);
      await store.addPackages(queued.id, []);
      assert.deepEqual(await store.listPackages(queued.id), [packages[1], packages[0], packages[2]]);

      const lock = { buildId: queued.id, kind: "lock" as const, key: `builds/data-science/py311/${a}/lock/conda-lock.yml`, size: 12_345, sha256: hash("lock"), platform: null };
      const explicit = { buildId: queued.id, kind: "explicit" as const, key: `builds/data-science/py311/${a}/explicit/linux-64.txt`, size: 5_000_000_000, sha256: hash("explicit"), platform: "linux-64" };
      await store.addArtifact(lock);
      await store.addArtifact(explicit);
      await store.addArtifact(lock); // a retried publish of the same object
      await assert.rejects(store.addArtifact({ ...lock, sha256: hash("other") }), (e: unknown) => e instanceof InfraError && e.code === "store.artifact-exists");
      assert.deepEqual(await store.listArtifacts(queued.id), [explicit, lock]);

      const envHash = hash("env-a");
      const done = await store.finishBuild(queued.id, {
        state: "succeeded",
        environmentHash: envHash,
        platform: "linux-64",
        prefix: "/state/builds/abc-py311",
        timings: { solve: 1200, install: 3400, total: 5000 },
      });
      assert.equal(done.state, "succeeded");
      assert.equal(done.environmentHash, envHash);
      assert.equal(done.platform, "linux-64");
      assert.equal(done.prefix, "/state/builds/abc-py311");
      assert.deepEqual(done.timings, { solve: 1200, install: 3400, total: 5000 });
      assert.equal(done.error, null);
      assert.ok(done.finishedAt && done.finishedAt >= done.startedAt!);
      await assert.rejects(store.finishBuild(queued.id, { state: "failed", error: "late" }), (e: unknown) => e instanceof InfraError && e.code === "store.build-state");
      assert.deepEqual(await store.getBuild(queued.id), done, "a succeeded build never changes");
      await store.heartbeat(queued.id);
      assert.deepEqual(await store.getBuild(queued.id), done);

      assert.equal(await store.resolveBuild(repo, "data-science", "py311", "current"), undefined);
      await store.setCurrent(env.id, done.id);
      assert.equal((await store.getEnvironment(repo, "data-science", "py311"))?.currentBuildId, done.id);
      for (const ref of ["current", a, a.slice(0, 7), a.slice(0, 7).toUpperCase(), envHash, envHash.slice(0, 12), b]) {
        assert.deepEqual(await store.resolveBuild(repo, "data-science", "py311", ref), done, ref);
      }
      for (const ref of [envHash.slice(0, 11), a.slice(0, 6), "main", "", sha("nowhere"), hash("nothing").slice(0, 20)]) {
        assert.equal(await store.resolveBuild(repo, "data-science", "py311", ref), undefined, ref);
      }
      assert.equal(await store.resolveBuild(repo, "data-science", "nope", "current"), undefined);
      assert.equal(await store.getBuild(987_654), undefined);

      // Failed and canceled builds never become current; a queued build may be canceled, not finished.
      const failed = await store.createBuild({ environmentId: env.id, commit: b, specHash: SPEC, reason: "forced", attempt: 1 });
      await store.startBuild(failed.id, "host-1:4242");
      const failedRow = await store.finishBuild(failed.id, { state: "failed", error: "solve: nothing provides numpy" });
      assert.equal(failedRow.error, "solve: nothing provides numpy");
      assert.deepEqual(failedRow.timings, {});
      await assert.rejects(store.setCurrent(env.id, failed.id), (e: unknown) => e instanceof InputError && e.code === "build.not-succeeded");
      const other = await store.ensureEnvironment(repo, "data-science", "r-base");
      await assert.rejects(store.setCurrent(other.id, done.id), InputError, "a build of another environment");
      const retry = await store.createBuild({ environmentId: env.id, commit: b, specHash: SPEC, reason: "retry", attempt: 2 });
      await assert.rejects(store.finishBuild(retry.id, { state: "succeeded" }), (e: unknown) => e instanceof InfraError && e.code === "store.build-state");
      assert.equal((await store.finishBuild(retry.id, { state: "canceled" })).state, "canceled");
      assert.equal((await store.latestAttempt(env.id, b))?.id, retry.id);
      // At a commit with only unsuccessful attempts, the newest attempt shows what happened.
      assert.equal((await store.resolveBuild(repo, "data-science", "py311", b))?.id, retry.id);
      await assert.rejects(store.finishBuild(123_456, { state: "failed" }), (e: unknown) => e instanceof InfraError && e.code === "store.build-missing");
    });

    test("a duplicate (environment, commit, attempt) throws BuildConflictError, also when racing", async () => {
      const repo = await store.ensureRepository("/srv/environments-conflict");
      const env = await store.ensureEnvironment(repo, "ns", "env");
      const at = sha("conflict");
      const build = { environmentId: env.id, commit: at, specHash: SPEC, reason: "changed" as const, attempt: 1 };
      await store.createBuild(build);
      await assert.rejects(store.createBuild(build), (e: unknown) => {
        assert.ok(e instanceof BuildConflictError);
        assert.ok(e instanceof InfraError);
        assert.equal(e.code, "store.build-exists");
        assert.equal(e.exitCode, 3);
        return true;
      });

      const second = t.url ? await openDatabase({ url: t.url }) : undefined;
      try {
        const otherWorker = second ? createBuildStore(second) : store;
        const results = await Promise.allSettled([store.createBuild({ ...build, attempt: 2 }), otherWorker.createBuild({ ...build, attempt: 2 })]);
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        const lost = results.find((r) => r.status === "rejected");
        assert.ok(lost?.status === "rejected" && lost.reason instanceof BuildConflictError);
      } finally {
        await second?.close();
      }
      await assert.rejects(store.createBuild({ ...build, attempt: 3, specHash: hash("unrecorded") }), (e: unknown) => e instanceof InfraError && e.code === "store.spec-missing");
    });

    test("a commit without a build resolves through first-parent history", async () => {
      const repo = await store.ensureRepository("/srv/environments-history");
      const [A, B, C, D, S, M] = ["A", "B", "C", "D", "S", "M"].map((l) => sha(`history-${l}`)) as [string, string, string, string, string, string];
      // A <- B <- C <- D <- M (merge of D and the side branch S, which forked from A)
      await store.recordCommits(repo, [commit(A, []), commit(B, [A]), commit(C, [B]), commit(D, [C]), commit(S, [A]), commit(M, [D, S])]);
      const env = await store.ensureEnvironment(repo, "team-geo", "gdal");
      const atA = await built(store, env.id, A);
      const atC = await built(store, env.id, C);
      const atS = await built(store, env.id, S);
      const resolve = (ref: string) => store.resolveBuild(repo, "team-geo", "gdal", ref);
      assert.equal((await resolve(D))?.id, atC.id);
      assert.equal((await resolve(D.slice(0, 8)))?.id, atC.id);
      assert.equal((await resolve(B))?.id, atA.id);
      assert.equal((await resolve(C))?.id, atC.id);
      assert.equal((await resolve(A))?.id, atA.id);
      assert.equal((await resolve(M))?.id, atC.id, "the merge follows its first parent, not the side branch");
      assert.equal((await resolve(S))?.id, atS.id);

      // A second attempt at C that succeeded is preferred over the first.
      const again = await store.createBuild({ environmentId: env.id, commit: C, specHash: SPEC, reason: "forced", attempt: 2 });
      await store.startBuild(again.id, "w");
      await store.finishBuild(again.id, { state: "succeeded", environmentHash: hash("again") });
      assert.equal((await resolve(D))?.id, again.id);
      // ...and a newer failed attempt does not hide the succeeded one.
      const third = await store.createBuild({ environmentId: env.id, commit: C, specHash: SPEC, reason: "forced", attempt: 3 });
      await store.startBuild(third.id, "w");
      await store.finishBuild(third.id, { state: "failed", error: "boom" });
      assert.equal((await resolve(C))?.id, again.id);
      assert.equal((await resolve(D))?.id, again.id);

      // Only failed at C: D walks past it to A.
      const env2 = await store.ensureEnvironment(repo, "team-geo", "qgis");
      const at2A = await built(store, env2.id, A);
      const failedC = await store.createBuild({ environmentId: env2.id, commit: C, specHash: SPEC, reason: "changed", attempt: 1 });
      await store.startBuild(failedC.id, "w");
      await store.finishBuild(failedC.id, { state: "failed", error: "install failed" });
      assert.equal((await store.resolveBuild(repo, "team-geo", "qgis", D))?.id, at2A.id);
      assert.equal((await store.resolveBuild(repo, "team-geo", "qgis", B))?.id, at2A.id);
      // Nothing succeeded before B in this environment.
      const env3 = await store.ensureEnvironment(repo, "team-geo", "proj");
      await built(store, env3.id, C);
      assert.equal(await store.resolveBuild(repo, "team-geo", "proj", B), undefined);
      // A build at a commit never recorded is still found by its sha.
      const unrecorded = sha("history-unrecorded");
      const atUnrecorded = await built(store, env3.id, unrecorded);
      assert.equal((await store.resolveBuild(repo, "team-geo", "proj", unrecorded.slice(0, 10)))?.id, atUnrecorded.id);
    });

    test("an ambiguous prefix is a usage error", async () => {
      const repo = await store.ensureRepository("/srv/environments-ambiguous");
      const [x, y] = [`deadbee0${"1".repeat(32)}`, `deadbee1${"2".repeat(32)}`];
      await store.recordCommits(repo, [commit(x, []), commit(y, [x])]);
      const env = await store.ensureEnvironment(repo, "ns", "amb");
      const atX = await built(store, env.id, x, { environmentHash: `${"c".repeat(12)}${"0".repeat(52)}` });
      await assert.rejects(store.resolveBuild(repo, "ns", "amb", "deadbee"), (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.equal(e.code, "ref.ambiguous");
        assert.match(e.message, /deadbee01111/);
        assert.match(e.message, /deadbee12222/);
        return true;
      });
      assert.equal((await store.resolveBuild(repo, "ns", "amb", "deadbee0"))?.id, atX.id);
      assert.equal((await store.resolveBuild(repo, "ns", "amb", "deadbee1"))?.id, atX.id);
      // Environment hashes sharing a prefix are ambiguous too.
      const z = sha("ambiguous-z");
      await built(store, env.id, z, { environmentHash: `${"c".repeat(12)}${"1".repeat(52)}` });
      await assert.rejects(store.resolveBuild(repo, "ns", "amb", "c".repeat(12)), (e: unknown) => e instanceof UsageError && e.code === "ref.ambiguous");
      assert.equal((await store.resolveBuild(repo, "ns", "amb", `${"c".repeat(12)}0`))?.id, atX.id);
    });

    test("hostile names and values round-trip exactly and are never patterns", async () => {
      const url = `/srv/it's "quoted" %_\\ 环境`;
      const repo = await store.ensureRepository(url);
      assert.equal(await store.ensureRepository(url), repo);
      assert.notEqual(await store.ensureRepository("/srv/it_s"), repo);
      const ns = "o'brien%_";
      const at = sha("hostile");
      const message = `'); DROP TABLE builds; --\n"quoted" \\back\\slash 100% _under_ naïve 环境 🐍`;
      await store.recordCommits(repo, [commit(at, [], { message, authorName: `O'Brien "Bobby" \\ 鲍勃`, authorEmail: "o'brien+%_@example.org" })]);
      const names = ["naïve-环境", "a_c", "abc", "a%c", `q"uote'd\\`];
      for (const name of names) await store.ensureEnvironment(repo, ns, name);
      assert.deepEqual((await store.listEnvironments(repo)).map((e) => [e.namespace, e.name]), names.map((n) => [ns, n]).sort((p, q) => (p[1]! < q[1]! ? -1 : 1)));

      const accCount = async () => (await db.query<{ n: number | string }>("SELECT count(*) AS n FROM builds"))[0]?.n;
      const before = await accCount();
      const env = (await store.getEnvironment(repo, ns, "naïve-环境"))!;
      assert.equal(env.name, "naïve-环境");
      assert.equal(env.namespace, ns);
      const weirdSpec = hash("weird-spec");
      await store.recordSpecification(weirdSpec, { name: "naïve-环境", channels: ["o'brien"], note: message });
      const build = await store.createBuild({ environmentId: env.id, commit: at, specHash: weirdSpec, reason: "named", attempt: 1 });
      await store.startBuild(build.id, `host'; --:1`);
      const pkg: BuildPackageRow = { platform: "linux-64", name: "py'thon%_", version: "1.0'", build: `b"\\`, channel: "file:///o'brien/%_", subdir: "linux-64", sha256: hash("p"), license: "GPL-3.0 'or' \"MIT\" 环境", requested: true };
      await store.addPackages(build.id, [pkg]);
      assert.deepEqual(await store.listPackages(build.id), [pkg]);
      const artifact = { buildId: build.id, kind: "log" as const, key: `builds/${ns}/naïve-环境/${at}/log/build's "log" %_\\.txt`, size: 1, sha256: hash("log"), platform: null };
      await store.addArtifact(artifact);
      assert.deepEqual(await store.listArtifacts(build.id), [artifact]);
      const finished = await store.finishBuild(build.id, { state: "failed", error: message, prefix: "/state/builds/o'brien %_ 环境" });
      assert.equal(finished.error, message);
      assert.equal(finished.worker, `host'; --:1`);
      assert.equal(finished.prefix, "/state/builds/o'brien %_ 环境");
      assert.equal(finished.namespace, ns);
      assert.equal(finished.name, "naïve-环境");
      const stored = await db.query<{ message: string; author_name: string; author_email: string }>(
        "SELECT message, author_name, author_email FROM commits WHERE repository_id = $1",
        [repo],
      );
      assert.deepEqual(stored, [{ message, author_name: `O'Brien "Bobby" \\ 鲍勃`, author_email: "o'brien+%_@example.org" }]);
      const spec = await db.query<{ effective: unknown }>("SELECT effective FROM specifications WHERE spec_hash = $1", [weirdSpec]);
      assert.deepEqual(spec[0]?.effective, { name: "naïve-环境", channels: ["o'brien"], note: message });
      assert.equal(Number(await accCount()), Number(before) + 1, "the builds table is still there");

      // `%` and `_` are characters, not wildcards.
      assert.equal(await store.getEnvironment(repo, "o'brienXY", "abc"), undefined);
      assert.equal(await store.getEnvironment(repo, "o'brien%", "abc"), undefined);
      assert.equal((await store.getEnvironment(repo, ns, "abc"))?.name, "abc");
      assert.equal((await store.getEnvironment(repo, ns, "a_c"))?.name, "a_c");
      assert.equal(await store.getEnvironment(repo, ns, "a__"), undefined);
      assert.equal(await store.getEnvironment(repo, ns, "%"), undefined);
      const abc = (await store.getEnvironment(repo, ns, "abc"))!;
      const aUc = (await store.getEnvironment(repo, ns, "a_c"))!;
      assert.notEqual(abc.id, aUc.id);
      const atAbc = await built(store, abc.id, at);
      assert.equal((await store.resolveBuild(repo, ns, "abc", at))?.id, atAbc.id);
      assert.equal(await store.resolveBuild(repo, ns, "a_c", at), undefined, "a_c has no build: abc's must not match");
      assert.equal(await store.resolveBuild(repo, ns, "a%c", at), undefined);
      for (const ref of ["%", "_______", "%%%%%%%", "'; --", `${at.slice(0, 7)}%`, `${at.slice(0, 7)}_`]) {
        assert.equal(await store.resolveBuild(repo, ns, "abc", ref), undefined, ref);
      }
    });

    test("markEnvironmentRemoved records the commit; ensureEnvironment clears it", async () => {
      const repo = await store.ensureRepository("/srv/environments-removed");
      const env = await store.ensureEnvironment(repo, "ns", "gone");
      const at = sha("removed");
      const build = await built(store, env.id, sha("before-removal"));
      await store.setCurrent(env.id, build.id);
      await store.markEnvironmentRemoved(env.id, at);
      const removed = await store.getEnvironment(repo, "ns", "gone");
      assert.equal(removed?.removedAtCommit, at);
      assert.equal(removed?.currentBuildId, build.id, "the builds stay");
      assert.equal((await store.listEnvironments(repo))[0]?.removedAtCommit, at);
      assert.equal((await store.resolveBuild(repo, "ns", "gone", "current"))?.id, build.id);
      const back = await store.ensureEnvironment(repo, "ns", "gone");
      assert.equal(back.id, env.id);
      assert.equal(back.removedAtCommit, null);
      assert.equal(back.currentBuildId, build.id);
      await assert.rejects(store.markEnvironmentRemoved(999_999, at), InfraError);
    });

    test("buildsInState lists the builds in one state, oldest first", async () => {
      const repo = await store.ensureRepository("/srv/environments-states");
      const env = await store.ensureEnvironment(repo, "ns", "states");
      const mine = (rows: BuildRow[]) => rows.filter((r) => r.environmentId === env.id).map((r) => r.id);
      const create = (label: string) => store.createBuild({ environmentId: env.id, commit: sha(label), specHash: SPEC, reason: "all", attempt: 1 });
      const q1 = await create("s1");
      const q2 = await create("s2");
      const q3 = await create("s3");
      const running = await create("s4");
      await store.startBuild(running.id, "w:1");
      const ok = await built(store, env.id, sha("s5"));
      await store.finishBuild(q3.id, { state: "canceled" });
      assert.deepEqual(mine(await store.buildsInState("queued")), [q1.id, q2.id]);
      assert.deepEqual(mine(await store.buildsInState("building")), [running.id]);
      assert.deepEqual(mine(await store.buildsInState("succeeded")), [ok.id]);
      assert.deepEqual(mine(await store.buildsInState("canceled")), [q3.id]);
      assert.deepEqual(mine(await store.buildsInState("failed")), []);
    });

    test("retention: builds listed newest commit first; pruning deletes the other kinds' rows at once and frees the prefix", async () => {
      const url = "/srv/environments-retention";
      assert.equal(await store.findRepository(url), undefined, "read-only lookup creates nothing");
      const repo = await store.ensureRepository(url);
      assert.equal(await store.findRepository(url), repo);
      await store.recordCommits(repo, [
        commit(sha("r1"), [], { date: "2024-01-01T00:00:00.000Z" }),
        commit(sha("r2"), [sha("r1")], { date: "2024-02-01T00:00:00.000Z" }),
      ]);
      const env = await store.ensureEnvironment(repo, "ns", "kept");
      const other = await store.ensureEnvironment(repo, "other", "kept");
      // Built out of order: the newer commit first.
      const newer = await built(store, env.id, sha("r2"), { prefix: "/state/builds/aaa-kept" });
      const older = await built(store, env.id, sha("r1"), { prefix: "/state/builds/bbb-kept" });
      const sharing = await built(store, other.id, sha("r1"), { prefix: "/state/builds/bbb-kept" });
      assert.deepEqual((await store.listBuilds(env.id)).map((b) => [b.commit, b.committedAt]), [[sha("r2"), "2024-02-01T00:00:00.000Z"], [sha("r1"), "2024-01-01T00:00:00.000Z"]]);
      for (const [kind, key] of [["lock", "a/lock"], ["yaml", "a/yaml"], ["build.json", "a/build.json"], ["oci", "a/oci"]] as const) {
        await store.addArtifact({ buildId: older.id, kind, key, size: 10, sha256: hash(key), platform: null });
      }
      assert.deepEqual(await store.prefixUsers("/state/builds/bbb-kept"), [older.id, sharing.id].sort((a, b) => a - b));
      const removed = await store.removeArtifactRows(older.id, ["lock"]);
      assert.deepEqual(removed.map((a) => a.key), ["a/oci", "a/yaml"], "build.json is always kept");
      assert.deepEqual((await store.listArtifacts(older.id)).map((a) => a.key), ["a/build.json", "a/lock"]);
      assert.equal((await store.getBuild(older.id))?.prunedAt, null, "not pruned until everything is gone");
      await store.markPruned(older.id);
      assert.ok((await store.getBuild(older.id))?.prunedAt, "marked pruned");
      assert.equal((await store.getBuild(newer.id))?.prunedAt, null);
      assert.deepEqual(await store.prefixUsers("/state/builds/bbb-kept"), [sharing.id], "a pruned build no longer holds its prefix");
      assert.deepEqual(await store.prefixUsers("/moved/state/builds/bbb-kept"), [sharing.id], "matched by folder name: the state folder may have moved");
      const firstPrunedAt = (await store.getBuild(older.id))?.prunedAt;
      assert.deepEqual(await store.removeArtifactRows(older.id, ["lock"]), [], "pruning again removes nothing");
      await store.markPruned(older.id);
      assert.equal((await store.getBuild(older.id))?.prunedAt, firstPrunedAt, "and keeps the first date");

      // The prefix lock: a build that claims the prefix keeps it from being released.
      const running = await store.createBuild({ environmentId: env.id, commit: sha("r2"), specHash: SPEC, reason: "forced", attempt: 2 });
      assert.equal(await store.startBuild(running.id, "test:2"), true);
      let released = 0;
      assert.equal(await store.releasePrefix("/state/builds/bbb-kept", [sharing.id], async () => void released++), true, "only leaving users: released");
      await store.claimPrefix(running.id, "/state/builds/bbb-kept");
      assert.equal(await store.releasePrefix("/state/builds/bbb-kept", [sharing.id], async () => void released++), false, "a running build claimed it");
      assert.equal(released, 1, "release runs only when nobody stays");

      // A removed environment's current build, once pruned, is current no more.
      await store.setCurrent(env.id, newer.id);
      await store.markPruned(newer.id);
      assert.equal((await store.getEnvironment(repo, "ns", "kept"))?.currentBuildId, null);
    });
  });
}
