/**
 * The seam between the store's SQL and the two engines that run it: real PostgreSQL (`pg`) and
 * embedded PGlite. Both implementations speak the same tiny interface, run transactions on one
 * session (nested ones become savepoints), and turn engine errors into `StoreQueryError`, so the
 * queries above this file never know which engine they run on.
 */
import { CondaopsError, InfraError } from "../errors.ts";

export interface Database {
  readonly kind: "postgres" | "pglite";
  /**
   * Runs one statement with `$1...` parameters and returns its rows. Without parameters the
   * text may hold several statements (simple protocol); the rows are then the last statement's.
   */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs `fn` inside BEGIN/COMMIT on one session; ROLLBACK when it throws. Use only `tx` inside
   * `fn`. `tx.transaction` nests through a savepoint (do not run nested ones concurrently).
   */
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A statement failed in the database (constraint, syntax, lock); `sqlState` is PostgreSQL's SQLSTATE. */
export class StoreQueryError extends InfraError {
  readonly sqlState: string;
  readonly constraint: string | undefined;

  constructor(message: string, sqlState: string, constraint: string | undefined, cause: unknown) {
    super("store.query", `database query failed: ${message}`, { cause });
    this.sqlState = sqlState;
    this.constraint = constraint;
  }
}

export const UNIQUE_VIOLATION = "23505";
export const FOREIGN_KEY_VIOLATION = "23503";

/** Engine errors (pg and PGlite both carry SQLSTATE in `code`) become `StoreQueryError`; others pass through. */
export function toStoreError(e: unknown): unknown {
  if (e instanceof CondaopsError || !(e instanceof Error)) return e;
  const { code, constraint } = e as Error & { code?: unknown; constraint?: unknown };
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return e;
  return new StoreQueryError(e.message, code, typeof constraint === "string" ? constraint : undefined, e);
}

export interface StatementResult {
  rows: Record<string, unknown>[];
  /** The command tag (`INSERT`, `COMMIT`, ...): a COMMIT answered `ROLLBACK` committed nothing. */
  command: string | undefined;
}

/** One statement on the session that holds the transaction. */
export type RunStatement = (sql: string, params?: readonly unknown[]) => Promise<StatementResult>;

/**
 * BEGIN, `fn`, COMMIT on one session, ROLLBACK on error; `onRollbackFailed` lets the caller
 * discard a session whose state is unknown. The handle given to `fn` refuses use after the
 * transaction ended, so a leaked handle never runs outside it.
 */
export async function runTransaction<T>(
  kind: Database["kind"],
  run: RunStatement,
  fn: (tx: Database) => Promise<T>,
  onRollbackFailed: (e: unknown) => void = () => {},
): Promise<T> {
  await run("BEGIN");
  const scope = transactionScope(kind, run, 1);
  let result: T;
  try {
    result = await fn(scope.db);
  } catch (e) {
    scope.end();
    try {
      await run("ROLLBACK");
    } catch (rollbackError) {
      onRollbackFailed(rollbackError);
    }
    throw e;
  }
  scope.end();
  const commit = await run("COMMIT");
  if (commit.command?.toUpperCase() === "ROLLBACK") {
    // PostgreSQL "commits" an aborted transaction by rolling it back, without an error.
    throw new InfraError("store.transaction-aborted", "the transaction was rolled back: a statement in it failed and its error was caught", {
      hint: "let the error propagate out of the transaction, or run the statement in a nested transaction (savepoint)",
    });
  }
  return result;
}

function transactionScope(kind: Database["kind"], run: RunStatement, depth: number): { db: Database; end(): void } {
  let ended = false;
  const guarded: RunStatement = (sql, params) => {
    if (ended) return Promise.reject(new Error("the transaction already ended: use the database, not a saved transaction handle"));
    return run(sql, params);
  };
  const db: Database = {
    kind,
    query: async <T>(sql: string, params?: readonly unknown[]) => (await guarded(sql, params)).rows as T[],
    transaction: async <T>(fn: (tx: Database) => Promise<T>): Promise<T> => {
      const savepoint = `condaops_sp_${depth}`;
      await guarded(`SAVEPOINT ${savepoint}`);
      const inner = transactionScope(kind, guarded, depth + 1);
      try {
        const result = await fn(inner.db);
        inner.end();
        await guarded(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (e) {
        inner.end();
        await guarded(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        await guarded(`RELEASE SAVEPOINT ${savepoint}`);
        throw e;
      }
    },
    close: () => Promise.reject(new Error("close the database, not a transaction")),
  };
  return {
    db,
    end() {
      ended = true;
    },
  };
}
