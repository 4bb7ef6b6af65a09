import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { InfraError } from "../../src/errors.ts";
import { StoreQueryError } from "../../src/store/database.ts";
import type { Database } from "../../src/store/database.ts";
import { openDatabase } from "../../src/store/open-store.ts";
import { createPgDatabase } from "../../src/store/pg-database.ts";
import { testDatabases } from "../support/databases.ts";
import type { TestDatabase } from "../support/databases.ts";

function assertConnectError(e: unknown, mentions: readonly string[], secrets: readonly string[]): true {
  assert.ok(e instanceof InfraError, String(e));
  assert.equal(e.code, "store.connect");
  assert.equal(e.exitCode, 3);
  for (const m of mentions) assert.ok(e.message.includes(m), `${e.message} names ${m}`);
  const everything = [e.message, e.format(), JSON.stringify(e.toJSON()), String(e.stack), String(e.cause ?? "")].join("\n");
  for (const s of secrets) assert.ok(!everything.includes(s), `${s} leaked: ${everything}`);
  return true;
}

describe("PostgreSQL connection errors", () => {
  test("name host and database, never the password", async () => {
    for (const [url, secrets] of [
      ["postgres://condaops:s3cr%40tPw@127.0.0.1:1/inventory", ["s3cr", "tPw"]],
      ["postgresql://condaops:p@ss:w0rd@127.0.0.1:1/inventory?sslmode=disable", ["p@ss", "ss:w0rd", "p%40ss"]],
      // Not a URL at all (an unencoded `/` in the password): still no echo.
      ["postgresql://condaops:p@ss:w/rd@127.0.0.1:1/inventory", ["p@ss", "ss:w", "w/rd"]],
    ] as const) {
      const db = createPgDatabase(url, { connectTimeoutMs: 2000 });
      const names = url.includes("w/rd") ? [] : ["127.0.0.1:1/inventory"];
      try {
        await assert.rejects(db.query("SELECT 1"), (e: unknown) => assertConnectError(e, names, secrets));
        await assert.rejects(db.transaction(async () => 1), (e: unknown) => assertConnectError(e, names, secrets));
      } finally {
        await db.close();
      }
    }
  });

  test("a URL that is not postgres:// is refused without echoing it", async () => {
    await assert.rejects(openDatabase({ url: "mysql://root:hunter22@db/x" }), (e: unknown) => assertConnectError(e, [], ["hunter22"]));
  });

  const adminUrl = process.env.TEST_DATABASE_URL;
  test("a rejected login is a connection error", { skip: adminUrl ? false : "TEST_DATABASE_URL is not set" }, async () => {
    const url = new URL(adminUrl!);
    url.username = "condaops_no_such_role";
    url.password = "Sup3rSecret";
    const db = createPgDatabase(url.toString());
    try {
      await assert.rejects(db.query("SELECT 1"), (e: unknown) => assertConnectError(e, [url.hostname, "condaops_no_such_role"], ["Sup3rSecret"]));
    } finally {
      await db.close();
    }
  });
});

for (const backend of testDatabases()) {
  describe(`Database on ${backend.name}`, () => {
    let t: TestDatabase;
    let db: Database;
    before(async () => {
      t = await backend.open();
      db = t.db;
      await db.query("CREATE TABLE t (n integer PRIMARY KEY, label text)");
    });
    after(async () => {
      await t?.drop();
    });
    const rows = async (tx: Database = db) => (await tx.query<{ n: number }>("SELECT n FROM t ORDER BY n")).map((r) => r.n);

    test("parameters, several statements, errors", async () => {
      assert.equal(db.kind, backend.name);
      assert.deepEqual(await db.query("SELECT $1::text AS a, $2::integer AS b", ["o'brien", 7]), [{ a: "o'brien", b: 7 }]);
      assert.deepEqual(await db.query("SELECT 1 AS one; SELECT 2 AS two"), [{ two: 2 }]);
      await assert.rejects(db.query("SELEC 1"), (e: unknown) => e instanceof StoreQueryError && e.sqlState === "42601" && e.code === "store.query");
      await db.query("INSERT INTO t VALUES (1)");
      await assert.rejects(db.query("INSERT INTO t VALUES ($1)", [1]), (e: unknown) => e instanceof StoreQueryError && e.sqlState === "23505" && e.constraint === "t_pkey");
      await db.query("DELETE FROM t");
    });

    test("a throwing transaction rolls back and rethrows the same error", async () => {
      const boom = new Error("boom");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO t VALUES (1)");
          assert.deepEqual(await rows(tx), [1]);
          throw boom;
        }),
        (e: unknown) => e === boom,
      );
      assert.deepEqual(await rows(), []);
      assert.equal(await db.transaction(async (tx) => (await tx.query("INSERT INTO t VALUES (2) RETURNING n")).length), 1);
      assert.deepEqual(await rows(), [2]);
      await db.query("DELETE FROM t");
    });

    test("a transaction whose failed statement was caught does not report success", async () => {
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO t VALUES (5)");
          await tx.query("INSERT INTO t VALUES (5)").catch(() => "ignored");
          return "done";
        }),
        (e: unknown) => e instanceof InfraError && e.code === "store.transaction-aborted",
      );
      assert.deepEqual(await rows(), []);
    });

    test("concurrent callers never see or run inside another caller's transaction", async () => {
      const events: string[] = [];
      const first = db.transaction(async (tx) => {
        events.push("first:begin");
        await tx.query("INSERT INTO t VALUES (10)");
        await sleep(100);
        events.push("first:end");
        throw new Error("rolled back");
      });
      await sleep(10);
      const second = db.transaction(async (tx) => {
        events.push("second:begin");
        const seen = await rows(tx);
        await tx.query("INSERT INTO t VALUES (20)");
        return seen;
      });
      const outside = rows();
      const [a, b, c] = await Promise.allSettled([first, second, outside]);
      assert.equal(a.status, "rejected");
      assert.deepEqual(b.status === "fulfilled" && b.value, []);
      // Outside any transaction: never the rolled-back row (PGlite runs it after `second`, PostgreSQL at once).
      assert.ok(c.status === "fulfilled" && !c.value.includes(10), JSON.stringify(c));
      assert.deepEqual(await rows(), [20]);
      if (backend.name === "pglite") assert.deepEqual(events, ["first:begin", "first:end", "second:begin"], "one session: transactions queue");
      await db.query("DELETE FROM t");
    });

    test("a nested transaction is a savepoint", async () => {
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO t VALUES (1)");
        await assert.rejects(
          tx.transaction(async (inner) => {
            await inner.query("INSERT INTO t VALUES (2)");
            throw new Error("inner");
          }),
          /inner/,
        );
        await tx.transaction(async (inner) => inner.query("INSERT INTO t VALUES (3)"));
      });
      assert.deepEqual(await rows(), [1, 3]);
      await db.query("DELETE FROM t");
    });

    test("a transaction handle is dead once the transaction ended", async () => {
      let leaked: Database | undefined;
      await db.transaction(async (tx) => {
        leaked = tx;
      });
      await assert.rejects(leaked!.query("SELECT 1"), /already ended/);
      await assert.rejects(leaked!.close(), /not a transaction/);
    });

    test("on PGlite, using the database inside its own transaction fails instead of deadlocking", { skip: backend.name !== "pglite" ? "PGlite only: PostgreSQL gives every connection its own session" : false }, async () => {
      await assert.rejects(
        db.transaction(async () => db.query("SELECT 1")),
        /one session/,
      );
      assert.deepEqual(await db.query("SELECT 1 AS one"), [{ one: 1 }], "the session is usable afterwards");
    });

    test("a closed database refuses queries", async () => {
      await db.close();
      await db.close();
      await assert.rejects(db.query("SELECT 1"), (e: unknown) => e instanceof InfraError && e.code === "store.closed");
    });
  });
}
