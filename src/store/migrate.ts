/**
 * Brings a database's schema up to date. Each pending migration applies in its own transaction
 * together with its `schema_migrations` row, under a transaction-scoped advisory lock taken before
 * anything is read, so processes starting at once (N workers on one PostgreSQL) apply each
 * migration exactly once and the others wait, then see it done.
 */
import type { Database } from "./database.ts";
import { migrations as allMigrations } from "./migrations/index.ts";
import type { Migration } from "./migrations/index.ts";

/** Arbitrary constant shared by every condaops process: "condaops schema" in the advisory-lock space. */
export const MIGRATION_LOCK_KEY = 7_244_061_958_339n;

/** Applies the pending migrations in order; returns the ids this call applied. */
export async function migrate(db: Database, migrations: readonly Migration[] = allMigrations): Promise<string[]> {
  // Up to date already: read only, so a worker role without CREATE rights can start.
  const table = await db.query<{ present: string | null }>("SELECT to_regclass('schema_migrations')::text AS present");
  if (table[0]?.present) {
    const done = new Set((await db.query<{ id: string }>("SELECT id FROM schema_migrations")).map((r) => r.id));
    if (migrations.every((m) => done.has(m.id))) return [];
  }
  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
      await tx.query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
      );
      const done = await tx.query("SELECT 1 FROM schema_migrations WHERE id = $1", [migration.id]);
      if (done.length > 0) return false;
      await tx.query(migration.sql);
      await tx.query("INSERT INTO schema_migrations (id) VALUES ($1)", [migration.id]);
      return true;
    });
    if (ran) applied.push(migration.id);
  }
  return applied;
}
