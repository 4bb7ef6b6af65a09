/**
 * `Database` on real PostgreSQL through a `pg` pool: the production store, shared by many workers.
 * Failing to reach the server is an infrastructure error (exit 3) that names the host and database
 * but never the password, whatever the URL looks like.
 */
import pg from "pg";
import { InfraError } from "../errors.ts";
import { runTransaction, toStoreError } from "./database.ts";
import type { Database, RunStatement } from "./database.ts";

export interface PgDatabaseOptions {
  /** Most connections the pool opens (default 10). */
  max?: number;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
}

/** Node system errors and SQLSTATEs that mean "could not reach or log in to the server". */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "EAI_AGAIN", "ENOENT"]);
const CONNECTION_SQLSTATE = /^(08|28|3D|57P0)/;

export function createPgDatabase(url: string, options: PgDatabaseOptions = {}): Database {
  const target = describeTarget(url);
  const secrets = passwordsOf(url);
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
  // An idle client losing its server must not crash the process: the next query reconnects or fails.
  pool.on("error", () => {});
  let closed: Promise<void> | undefined;

  const connectError = (e: unknown): InfraError => {
    const reason = e instanceof Error ? e.message : String(e);
    const safe = secrets.reduce((text, secret) => text.split(secret).join("***"), reason);
    return new InfraError("store.connect", `cannot connect to PostgreSQL at ${target}: ${safe}`, {
      hint: "check database.url (CONDAOPS_DATABASE_URL) and that the server is running and accepts this user",
    });
  };
  const isConnectionError = (e: unknown): boolean => {
    if (!(e instanceof Error)) return false;
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === "string" && (CONNECTION_CODES.has(code) || CONNECTION_SQLSTATE.test(code))) return true;
    return /Connection terminated|timeout exceeded when trying to connect|connection is closed/i.test(e.message);
  };
  const fail = (e: unknown): unknown => (isConnectionError(e) ? connectError(e) : toStoreError(e));

  const connect = async (): Promise<pg.PoolClient> => {
    if (closed) throw new InfraError("store.closed", "the database connection was closed");
    try {
      return await pool.connect();
    } catch (e) {
      throw connectError(e);
    }
  };
  const runOn = (client: pg.PoolClient): RunStatement => async (sql, params) => {
    try {
      const results: pg.QueryResult | pg.QueryResult[] = await client.query(sql, params ? [...params] : undefined);
      // Several statements without parameters answer one result each: keep the last one.
      const last = Array.isArray(results) ? results.at(-1) : results;
      return { rows: last?.rows ?? [], command: last?.command };
    } catch (e) {
      throw fail(e);
    }
  };

  return {
    kind: "postgres",
    async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
      const client = await connect();
      let broken: Error | undefined;
      try {
        return (await runOn(client)(sql, params)).rows as T[];
      } catch (e) {
        if (e instanceof InfraError && e.code === "store.connect") broken = e;
        throw e;
      } finally {
        client.release(broken);
      }
    },
    async transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T> {
      const client = await connect();
      let broken: Error | undefined;
      try {
        return await runTransaction("postgres", runOn(client), fn, (e) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
      } catch (e) {
        if (e instanceof InfraError && e.code === "store.connect") broken = e;
        throw e;
      } finally {
        // A client whose ROLLBACK failed may still be inside the transaction: destroy it.
        client.release(broken);
      }
    },
    close(): Promise<void> {
      closed ??= pool.end();
      return closed;
    },
  };
}

/** `user@host:port/database`, taken from the parsed URL so the password cannot leak. */
export function describeTarget(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "an unparsable database.url";
  }
  const socket = u.searchParams.get("host");
  const host = u.hostname || socket || "localhost";
  const port = u.port || "5432";
  const user = decodeURIComponentSafe(u.username);
  const database = decodeURIComponentSafe(u.pathname.replace(/^\//, "")) || user || "postgres";
  return `${user ? `${user}@` : ""}${host}:${port}/${database}`;
}

/** The password as written and decoded, for masking in messages that might echo it. */
function passwordsOf(url: string): string[] {
  try {
    const raw = new URL(url).password;
    return [...new Set([raw, decodeURIComponentSafe(raw)])].filter((s) => s.length > 0);
  } catch {
    return [];
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
