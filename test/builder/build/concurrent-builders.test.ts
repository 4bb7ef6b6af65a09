/**
 * Two builders on one PostgreSQL (scale-out workers, or two CI runs of the same push) building the
 * same commit at once: each environment is built once, the other builder reports it, and the
 * environment ends with exactly one current build whose links agree with the database.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalStorage } from "../../../src/blobs/local-folder.ts";
import { buildCommit } from "../../../src/builder/build/build-commit.ts";
import type { BuildServices } from "../../../src/builder/build/services.ts";
import { openRepositorySource } from "../../../src/builder/build/repository-source.ts";
import { readLink, storeLayout } from "../../../src/builder/build/store-layout.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { createBuildStore } from "../../../src/store/build-store.ts";
import { migrate } from "../../../src/store/migrate.ts";
import { createPgDatabase } from "../../../src/store/pg-database.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import { testDatabases } from "../../support/databases.ts";
import { createTestRepo } from "../../support/git-repo.ts";

const postgres = testDatabases().find((b) => b.name === "postgres");

test("two builders racing on one commit build each environment once", { skip: postgres ? false : "needs a PostgreSQL server: set TEST_DATABASE_URL (.ci/run does)" }, async () => {
  const server = await serveChannels((await sharedUniverse()).dir);
  const work = await mkdtemp(join(tmpdir(), "condaops-race-"));
  const db = await (postgres as NonNullable<typeof postgres>).open();
  const repo = await createTestRepo({ "policy.yaml": `channels: {alias: ${server.url}, default: [conda-forge]}\n`, "ds/a.yaml": "dependencies: [hello-prefix]\n", "ds/b.yaml": "dependencies: [libzlib]\n", "ds/c.yaml": "dependencies: [hello-prefix, libzlib]\n" });
  const sha = repo.commit("three environments");
  const builders: { services: BuildServices; close(): Promise<void> }[] = [];
  try {
    await migrate(db.db);
    for (const worker of ["host-a:1", "host-b:2"]) {
      const own = createPgDatabase(db.url as string);
      const services: BuildServices = {
        store: createBuildStore(own),
        blobs: createLocalStorage(join(work, "state", "blobs")),
        layout: storeLayout(join(work, "state")),
        gateway: createRepodataGateway({ cacheDir: join(work, "cache"), credentials: [] }),
        cache: createPackageCache({ root: join(work, "cache"), credentials: [] }),
        config: { virtualPackages: DEFAULT_VIRTUAL_PACKAGES, install: { installer: "condaops", concurrency: 4, linkScripts: false, compilePython: false }, build: { minFreeSpace: 0 }, channelCredentials: [], cacheDir: join(work, "cache"), oci: { credentials: [], insecureRegistries: [] } },
        hostPlatform: "linux-64",
        worker,
        log: () => undefined,
      };
      builders.push({ services, close: () => own.close() });
    }
    const reports = await Promise.all(builders.map(async (b) => buildCommit(b.services, await openRepositorySource(repo.dir, join(work, "cache"), () => undefined), {})));
    const all = reports.flatMap((r) => r.results);
    for (const name of ["a", "b", "c"]) {
      const mine = all.filter((r) => r.name === name);
      assert.equal(mine.length, 2, `both builders report ds/${name}`);
      assert.equal(mine.filter((r) => !r.existing).length, 1, `ds/${name} was built by exactly one builder`);
      assert.ok(mine.every((r) => r.build?.id === mine[0]?.build?.id), "both report the same build");
    }
    const rows = await db.db.query<{ name: string; state: string }>("SELECT e.name, b.state FROM builds b JOIN environments e ON e.id = b.environment_id ORDER BY e.name");
    assert.deepEqual(rows.map((r) => `${r.name}:${r.state}`), ["a:succeeded", "b:succeeded", "c:succeeded"]);
    const store = builders[0]!.services.store;
    const repoId = await store.ensureRepository((await openRepositorySource(repo.dir, join(work, "cache"), () => undefined)).identity);
    for (const name of ["a", "b", "c"]) {
      const current = await store.resolveBuild(repoId, "ds", name, "current");
      assert.equal(current?.commit, sha);
      assert.equal(await readLink(builders[0]!.services.layout.envLink("ds", name)), current?.prefix);
    }
  } finally {
    for (const b of builders) await b.close();
    await db.drop();
    await repo.cleanup();
    await server.close();
    await rm(work, { recursive: true, force: true });
  }
});
