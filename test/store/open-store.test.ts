import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { InfraError } from "../../src/errors.ts";
import { LOCK_FILE } from "../../src/store/folder-lock.ts";
import { migrations } from "../../src/store/migrations/index.ts";
import { openDatabase, openStore } from "../../src/store/open-store.ts";
import { testDatabases } from "../support/databases.ts";

const root = await mkdtemp(join(tmpdir(), "condaops-store-"));
after(() => rm(root, { recursive: true, force: true }));

test("PGlite on disk: created under a missing folder, migrated, and reopened with its data", async () => {
  const dir = join(root, "state", "db");
  const store = await openStore({ dir });
  assert.ok((await stat(dir)).isDirectory());
  const repo = await store.ensureRepository("/srv/environments");
  const env = await store.ensureEnvironment(repo, "data-science", "py311");
  // A second opener (here: this process again) is refused instead of silently losing writes.
  await assert.rejects(openStore({ dir }), (e: unknown) => e instanceof InfraError && e.code === "store.locked" && e.message.includes(String(process.pid)));
  await store.close();
  await assert.rejects(stat(join(dir, LOCK_FILE)), /ENOENT/, "closing releases the lock");

  // A lock left behind by a process that died is taken over.
  const dead = Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }));
  await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: dead, host: hostname(), since: "2024-01-01T00:00:00Z" }));
  const again = await openStore({ dir });
  try {
    assert.equal(await again.ensureRepository("/srv/environments"), repo);
    assert.deepEqual(await again.getEnvironment(repo, "data-science", "py311"), env);
  } finally {
    await again.close();
  }
  const db = await openDatabase({ dir });
  try {
    assert.equal(db.kind, "pglite");
    assert.deepEqual((await db.query<{ id: string }>("SELECT id FROM schema_migrations ORDER BY id")).map((r) => r.id), migrations.map((m) => m.id));
  } finally {
    await db.close();
  }
});

const postgres = testDatabases().find((b) => b.name === "postgres");
test("PostgreSQL by URL: migrated on open", { skip: postgres ? false : "TEST_DATABASE_URL is not set" }, async () => {
  const target = await postgres!.open();
  try {
    const store = await openStore({ url: target.url! });
    try {
      assert.equal(typeof (await store.ensureRepository("https://github.com/org/environments.git")), "number");
    } finally {
      await store.close();
    }
    assert.equal(target.db.kind, "postgres");
    assert.equal((await target.db.query("SELECT id FROM schema_migrations")).length, migrations.length);
  } finally {
    await target.drop();
  }
});
