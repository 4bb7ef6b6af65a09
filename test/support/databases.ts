/**
 * The database backends the store tests run on: in-memory PGlite always, real PostgreSQL when
 * TEST_DATABASE_URL points at a server (each `open` then creates a fresh, uniquely named database
 * and `drop` removes it). PGlite is slow to start and large: open one per test file.
 */
import { randomBytes } from "node:crypto";
import type { Database } from "../../src/store/database.ts";
import { createPgDatabase } from "../../src/store/pg-database.ts";
import { openPgliteDatabase } from "../../src/store/pglite-database.ts";

export interface TestDatabase {
  db: Database;
  /** The database's own URL (PostgreSQL only), to open more connections to it. */
  url?: string;
  /** Closes `db` and removes the database. */
  drop(): Promise<void>;
}

export interface TestBackend {
  name: "pglite" | "postgres";
  open(): Promise<TestDatabase>;
}

export function testDatabases(): TestBackend[] {
  const backends: TestBackend[] = [{ name: "pglite", open: openPglite }];
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) backends.push({ name: "postgres", open: () => openPostgres(adminUrl) });
  return backends;
}

async function openPglite(): Promise<TestDatabase> {
  const db = await openPgliteDatabase();
  return { db, drop: () => db.close() };
}

async function openPostgres(adminUrl: string): Promise<TestDatabase> {
  const name = `condaops_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const admin = createPgDatabase(adminUrl, { max: 1 });
  try {
    await admin.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
  } finally {
    await admin.close();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  const db = createPgDatabase(url.toString());
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const again = createPgDatabase(adminUrl, { max: 1 });
      try {
        await again.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
      } finally {
        await again.close();
      }
    },
  };
}

/** A PostgreSQL identifier in double quotes, inner quotes doubled. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
