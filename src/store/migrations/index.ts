/**
 * Every schema migration, in the order they apply. Migrations are TypeScript modules holding plain
 * SQL strings (not .sql files) so a bundler carries them into the Action and the single-file CLI.
 * Never edit one that was released: add the next.
 */
import initial from "./0001-initial.ts";
import retention from "./0002-retention.ts";

export interface Migration {
  /** `NNNN-name`; recorded in `schema_migrations`. */
  id: string;
  /** Runs in one transaction; may hold several statements (no parameters). */
  sql: string;
}

export const migrations: readonly Migration[] = [initial, retention];
