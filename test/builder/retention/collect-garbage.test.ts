/**
 * collectGarbage against a real store (PGlite, and PostgreSQL when TEST_DATABASE_URL is set), real
 * local storage and real folders: the cases the CLI story does not reach. A prefix shared by two
 * environments stays while one keeps it; a storage failure midway is finished by the next run;
 * failed builds' prefixes and dead scratch folders are swept; --dry-run leaves the database as is.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalStorage } from "../../../src/blobs/local-folder.ts";
import type { BlobStorage } from "../../../src/blobs/storage.ts";
import { artifactKey, buildKeyPrefix } from "../../../src/builder/artifacts/artifact-key.ts";
import { storeLayout } from "../../../src/builder/build/store-layout.ts";
import { collectGarbage } from "../../../src/builder/retention/collect-garbage.ts";
import type { RetentionSettings } from "../../../src/builder/retention/retention-plan.ts";
import { createBuildStore } from "../../../src/store/build-store.ts";
import { migrate } from "../../../src/store/migrate.ts";
import type { BuildRow, BuildStore } from "../../../src/store/types.ts";
import { testDatabases } from "../../support/databases.ts";
import type { TestDatabase } from "../../support/databases.ts";

const sha = (label: string): string => createHash("sha1").update(label).digest("hex");
const SPEC = createHash("sha256").update("spec").digest("hex");
const KEEP_ONE: RetentionSettings = { keepLast: 1, keepOnDelete: ["lock"], pinned: [] };

for (const backend of testDatabases()) {
  describe(`collectGarbage on ${backend.name}`, () => {
    let t: TestDatabase;
    let store: BuildStore;
    let work: string;
    before(async () => {
      t = await backend.open();
      await migrate(t.db);
      store = createBuildStore(t.db);
      await store.recordSpecification(SPEC, { name: "env" });
      work = await mkdtemp(join(tmpdir(), "condaops-gc-"));
    });
    after(async () => {
      await t?.drop();
      await rm(work, { recursive: true, force: true });
    });

    /** A succeeded build with a prefix folder and two artifacts (lock, yaml) really stored. */
    async function built(blobs: BlobStorage, state: string, repo: number, ns: string, name: string, commit: string, prefixName: string): Promise<BuildRow> {
      const env = await store.ensureEnvironment(repo, ns, name);
      const b = await store.createBuild({ environmentId: env.id, commit, specHash: SPEC, reason: "changed", attempt: 1 });
      await store.startBuild(b.id, "test:1");
      const prefix = join(state, "builds", prefixName);
      await mkdir(join(prefix, "bin"), { recursive: true });
      await writeFile(join(prefix, "bin", "tool"), "x".repeat(1000));
      for (const kind of ["lock", "yaml"]) {
        const obj = await blobs.put(artifactKey(buildKeyPrefix(ns, name, commit, 1), kind, `${kind}.txt`), `${kind} of ${commit}`);
        await store.addArtifact({ buildId: b.id, kind: kind as "lock", key: obj.key, size: obj.size, sha256: obj.sha256, platform: null });
      }
      const done = await store.finishBuild(b.id, { state: "succeeded", prefix, environmentHash: SPEC });
      await store.setCurrentIfNewer(env.id, b.id);
      return done;
    }

    async function setup(label: string) {
      const state = join(work, label);
      const layout = storeLayout(state);
      const blobs = createLocalStorage(layout.blobsDir);
      const repo = await store.ensureRepository(`/srv/${label}`);
      const commits = [sha(`${label}1`), sha(`${label}2`)];
      await store.recordCommits(repo, [
        { sha: commits[0] as string, parents: [], authorName: "A", authorEmail: "a@x", date: "2024-01-01T00:00:00.000Z", message: "1" },
        { sha: commits[1] as string, parents: [commits[0] as string], authorName: "A", authorEmail: "a@x", date: "2024-02-01T00:00:00.000Z", message: "2" },
      ]);
      return { state, layout, blobs, repo, commits: commits as [string, string], log: [] as string[] };
    }

    test("a prefix shared with another environment's kept build stays; the old build's other artifacts go", async () => {
      const s = await setup("shared");
      const [c1, c2] = s.commits;
      const oldA = await built(s.blobs, s.state, s.repo, "a", "app", c1, "aaaaaaaaaaaa-app");
      await built(s.blobs, s.state, s.repo, "a", "app", c2, "bbbbbbbbbbbb-app");
      await built(s.blobs, s.state, s.repo, "b", "app", c1, "aaaaaaaaaaaa-app"); // same hash, same name: same prefix
      const services = { store, blobs: s.blobs, layout: s.layout, log: (l: string) => s.log.push(l) };
      const report = await collectGarbage(services, s.repo, { dryRun: false, settingsFor: () => KEEP_ONE });
      assert.deepEqual(report.removed.map((r) => [r.namespace, r.commit, r.prefix?.path]), [["a", c1, undefined]], "b/app still uses the prefix");
      assert.ok(existsSync(join(s.state, "builds", "aaaaaaaaaaaa-app", "bin", "tool")));
      assert.deepEqual((await store.listArtifacts(oldA.id)).map((a) => a.kind), ["lock"]);
      assert.equal(await s.blobs.stat(artifactKey(buildKeyPrefix("a", "app", c1, 1), "yaml", "yaml.txt")), undefined);
    });

    test("a storage failure midway: the build is reported, not marked pruned, and the next run finishes it", async () => {
      const s = await setup("interrupted");
      const [c1, c2] = s.commits;
      const old = await built(s.blobs, s.state, s.repo, "ns", "env", c1, "cccccccccccc-env");
      await built(s.blobs, s.state, s.repo, "ns", "env", c2, "dddddddddddd-env");
      let failures = 1;
      const flaky: BlobStorage = {
        ...s.blobs,
        location: s.blobs.location,
        delete: async (key) => {
          if (failures-- > 0) throw new Error("503 SlowDown");
          return s.blobs.delete(key);
        },
      };
      const first = await collectGarbage({ store, blobs: flaky, layout: s.layout, log: () => undefined }, s.repo, { dryRun: false, settingsFor: () => KEEP_ONE });
      assert.deepEqual(first.failed.map((f) => [f.commit, f.error]), [[c1, "503 SlowDown"]]);
      assert.equal((await store.getBuild(old.id))?.prunedAt, null, "not marked pruned");
      const yamlKey = artifactKey(buildKeyPrefix("ns", "env", c1, 1), "yaml", "yaml.txt");
      assert.ok(await s.blobs.stat(yamlKey), "the object whose row went is still stored");
      const second = await collectGarbage({ store, blobs: s.blobs, layout: s.layout, log: () => undefined }, s.repo, { dryRun: false, settingsFor: () => KEEP_ONE });
      assert.deepEqual(second.failed, []);
      assert.deepEqual(second.removed[0]?.artifacts.map((a) => [a.kind, a.key]), [["unrecorded", yamlKey]], "the unrecorded object is found and removed");
      assert.equal(await s.blobs.stat(yamlKey), undefined);
      assert.equal(existsSync(join(s.state, "builds", "cccccccccccc-env")), false, "the prefix goes too");
      assert.ok((await store.getBuild(old.id))?.prunedAt);
    });

    test("gc sweeps the prefixes of failed builds and dead scratch folders; --dry-run only reports, and leaves the database as is", async () => {
      const s = await setup("sweep");
      const [c1, c2] = s.commits;
      await built(s.blobs, s.state, s.repo, "ns", "env", c1, "eeeeeeeeeeee-env");
      const env = await store.ensureEnvironment(s.repo, "ns", "env");
      const failed = await store.createBuild({ environmentId: env.id, commit: c2, specHash: SPEC, reason: "changed", attempt: 1 });
      await store.startBuild(failed.id, "test:1");
      const failedPrefix = join(s.state, "builds", "ffffffffffff-env");
      await store.claimPrefix(failed.id, failedPrefix);
      await mkdir(failedPrefix, { recursive: true });
      await writeFile(join(failedPrefix, "big"), "y".repeat(5000));
      await store.finishBuild(failed.id, { state: "failed", error: "oci artifact: boom" });
      await mkdir(join(s.layout.tmpDir, `build-${failed.id}`, "pack-x"), { recursive: true });
      const settings = () => ({ keepOnDelete: ["lock" as const], pinned: [] });
      const services = { store, blobs: s.blobs, layout: s.layout, log: () => undefined };

      const dry = await collectGarbage(services, s.repo, { dryRun: true, settingsFor: settings });
      assert.deepEqual(dry.swept.map((x) => x.path).sort(), [failedPrefix, join(s.layout.tmpDir, `build-${failed.id}`)].sort());
      assert.equal(dry.swept.find((x) => x.path === failedPrefix)?.bytes, 5000);
      assert.ok(existsSync(failedPrefix) && existsSync(join(s.layout.tmpDir, `build-${failed.id}`)), "dry run removed nothing");
      assert.deepEqual(dry.removed, [], "no keep_last: every build stays");

      const real = await collectGarbage(services, s.repo, { dryRun: false, settingsFor: settings });
      assert.equal(real.swept.length, 2);
      assert.equal(existsSync(failedPrefix), false);
      assert.equal(existsSync(join(s.layout.tmpDir, `build-${failed.id}`)), false);
      assert.ok(existsSync(join(s.state, "builds", "eeeeeeeeeeee-env", "bin", "tool")), "the current build's prefix stays");
    });

    test("--dry-run writes nothing to the database", async () => {
      const s = await setup("dry");
      const [c1, c2] = s.commits;
      const old = await built(s.blobs, s.state, s.repo, "ns", "env", c1, "111111111111-env");
      await built(s.blobs, s.state, s.repo, "ns", "env", c2, "222222222222-env");
      const before = await t.db.query("SELECT id, prefix, pruned_at FROM builds ORDER BY id");
      const artifactsBefore = await t.db.query("SELECT build_id, key FROM artifacts ORDER BY build_id, key");
      const dry = await collectGarbage({ store, blobs: s.blobs, layout: s.layout, log: () => undefined }, s.repo, { dryRun: true, settingsFor: () => KEEP_ONE });
      assert.deepEqual(dry.removed.map((r) => r.buildId), [old.id]);
      assert.deepEqual(await t.db.query("SELECT id, prefix, pruned_at FROM builds ORDER BY id"), before);
      assert.deepEqual(await t.db.query("SELECT build_id, key FROM artifacts ORDER BY build_id, key"), artifactsBefore);
    });
  });
}
