/**
 * Where the store lives: PostgreSQL when `database.url` is set (production, many workers),
 * otherwise embedded PGlite in a folder of the state directory (zero setup), in memory when
 * neither is given (tests). Opening always brings the schema up to date.
 */
import { mkdir } from "node:fs/promises";
import { InfraError } from "../errors.ts";
import { createBuildStore } from "./build-store.ts";
import type { Database } from "./database.ts";
import { migrate } from "./migrate.ts";
import { createPgDatabase } from "./pg-database.ts";
import { openPgliteDatabase } from "./pglite-database.ts";
import type { BuildStore } from "./types.ts";

export interface StoreLocation {
  /** `postgres://` or `postgresql://` URL of a PostgreSQL server. */
  url?: string;
  /** Folder of the embedded PGlite database (created when missing). */
  dir?: string;
}

/** The raw database, not migrated: PostgreSQL for `url`, PGlite in `dir`, else PGlite in memory. */
export async function openDatabase(location: StoreLocation): Promise<Database> {
  if (location.url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(location.url)) {
      throw new InfraError("store.connect", "database.url must be a postgres:// or postgresql:// URL", {
        hint: "set database.url to postgres://user@host:5432/database, or leave it unset for the embedded database",
      });
    }
    return createPgDatabase(location.url);
  }
  if (location.dir !== undefined) {
    try {
      await mkdir(location.dir, { recursive: true });
    } catch (e) {
      throw new InfraError("store.connect", `cannot create the database folder ${location.dir}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  }
  return openPgliteDatabase(location.dir);
}

/** Opens the database, applies pending migrations and returns the store (which owns the database). */
export async function openStore(location: StoreLocation): Promise<BuildStore> {
  const db = await openDatabase(location);
  try {
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  return createBuildStore(db);
}
