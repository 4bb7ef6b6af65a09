/**
 * `Database` on embedded PGlite: the zero-setup default (a folder under the state directory), and
 * in memory for tests. PGlite is one backend session, so every statement and every transaction
 * goes through one queue: a caller never runs inside another caller's open transaction.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { PGlite } from "@electric-sql/pglite";
import { InfraError } from "../errors.ts";
import { runTransaction, toStoreError } from "./database.ts";
import { lockFolder } from "./folder-lock.ts";
import type { Database, RunStatement } from "./database.ts";

/**
 * Opens (creating when new) the PGlite database in the existing folder `dir`, locked against other
 * processes for as long as it is open; an in-memory one when `dir` is undefined.
 */
export async function openPgliteDatabase(dir?: string): Promise<Database> {
  const unlock = dir === undefined ? async () => {} : await lockFolder(dir);
  let pglite: PGlite;
  try {
    // Loaded on first use: its WASM is large, and bundles that record into PostgreSQL only (the
    // GitHub Action) leave it out.
    const { PGlite: Pglite } = await import("@electric-sql/pglite");
    pglite = await Pglite.create(dir);
  } catch (e) {
    await unlock();
    const reason = e instanceof Error ? e.message : String(e);
    throw new InfraError("store.connect", `cannot open the embedded database${dir ? ` in ${dir}` : ""}: ${reason}`, {
      hint: "check that the folder is writable and holds a condaops database, or set database.url",
      cause: e,
    });
  }
  return wrapPglite(pglite, unlock);
}

/** Wraps an open PGlite (which it then owns and closes, then calls `onClosed`). */
export function wrapPglite(pglite: PGlite, onClosed: () => Promise<void> = async () => {}): Database {
  let tail: Promise<unknown> = Promise.resolve();
  /** Set while a caller's transaction holds the session: the outer handle would wait for itself. */
  const insideTransaction = new AsyncLocalStorage<true>();
  let closed: Promise<void> | undefined;

  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new InfraError("store.closed", "the database was closed"));
    if (insideTransaction.getStore()) {
      return Promise.reject(new Error("PGlite is one session: inside a transaction, query through its handle (tx), not the database"));
    }
    const result = tail.then(fn);
    tail = result.catch(() => undefined);
    return result;
  };

  const run: RunStatement = async (sql, params) => {
    try {
      if (params && params.length > 0) {
        const result = await pglite.query<Record<string, unknown>>(sql, [...params]);
        return { rows: result.rows, command: result.command };
      }
      // Like pg without parameters: the simple protocol, several statements allowed, the last one kept.
      const last = (await pglite.exec(sql)).at(-1);
      return { rows: (last?.rows ?? []) as Record<string, unknown>[], command: last?.command };
    } catch (e) {
      throw toStoreError(e);
    }
  };

  return {
    kind: "pglite",
    query: <T>(sql: string, params?: readonly unknown[]) => exclusive(async () => (await run(sql, params)).rows as T[]),
    transaction: <T>(fn: (tx: Database) => Promise<T>) =>
      exclusive(() => insideTransaction.run(true, () => runTransaction("pglite", run, fn))),
    close(): Promise<void> {
      closed ??= tail.then(async () => {
        try {
          await pglite.close();
        } finally {
          await onClosed();
        }
      });
      return closed;
    },
  };
}
