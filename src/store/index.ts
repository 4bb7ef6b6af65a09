/** The store's public face: open it, migrate it, and the row types the rest of condaops uses. */
export type * from "./types.ts";
export type { Database } from "./database.ts";
export { StoreQueryError } from "./database.ts";
export { BuildConflictError, createBuildStore } from "./build-store.ts";
export { migrate } from "./migrate.ts";
export { migrations } from "./migrations/index.ts";
export type { Migration } from "./migrations/index.ts";
export { openDatabase, openStore } from "./open-store.ts";
export type { StoreLocation } from "./open-store.ts";
export { createPgDatabase } from "./pg-database.ts";
export { openPgliteDatabase } from "./pglite-database.ts";
