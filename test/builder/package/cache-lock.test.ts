import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { acquireLock } from "../../../src/builder/package/cache-lock.ts";
import { InfraError } from "../../../src/errors.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("condaops-lock-");
const CHILD = join(import.meta.dirname, "race-child.ts");
let seq = 0;
const lockPath = (): string => join(tmp, `p${seq++}.lock`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test("a lock excludes a second holder until released, and is removed on release", async () => {
  const path = lockPath();
  const first = await acquireLock(path);
  const holder = JSON.parse(await readFile(path, "utf8")) as { pid: number; host: string };
  assert.equal(holder.pid, process.pid);
  let second = false;
  const waiting = acquireLock(path).then((l) => ((second = true), l));
  await sleep(150);
  assert.equal(second, false, "the second waits");
  await first.release();
  const l2 = await waiting;
  assert.equal(second, true);
  await l2.release();
  await l2.release();
  assert.equal(existsSync(path), false);
  assert.deepEqual(await readdir(tmp), [], "no temp files left");
});

test("a lock held by a process that was killed is broken at once", async () => {
  const path = lockPath();
  const job = join(tmp, "hold.json");
  await writeFile(job, JSON.stringify({ mode: "hold-lock", lockPath: path }));
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, job], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout }).once("line", () => resolve()));
  assert.equal((JSON.parse(await readFile(path, "utf8")) as { pid: number }).pid, child.pid);
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  const lines: string[] = [];
  const started = Date.now();
  const lock = await acquireLock(path, { log: (l) => lines.push(l) });
  assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
  assert.match(lines.join("\n"), new RegExp(`broke the stale lock .*: its holder \\(pid ${child.pid}\\) is gone`));
  await lock.release();
});

test("a live holder elsewhere is waited for; a lock nobody touches for staleMs is broken", async () => {
  const path = lockPath();
  const elsewhere = { pid: 1, host: "build-node-7", token: "x".repeat(24), since: new Date().toISOString() };
  await writeFile(path, JSON.stringify(elsewhere));
  await assert.rejects(acquireLock(path, { waitMs: 300 }), (e: unknown) => e instanceof InfraError && e.code === "cache.lock-timeout" && /held by pid 1 on build-node-7/.test(e.message));
  assert.ok(existsSync(path), "a fresh lock of another machine is not broken");
  const old = new Date(Date.now() - 60_000);
  await utimes(path, old, old);
  const lock = await acquireLock(path, { staleMs: 30_000 });
  assert.match(await readFile(path, "utf8"), new RegExp(`"pid":${process.pid}`));
  await lock.release();

  // An empty or unreadable lock (a crash while it was written) is judged by its age alone.
  await writeFile(path, "");
  await utimes(path, old, old);
  await (await acquireLock(path, { staleMs: 30_000 })).release();
});

test("a holder keeps its lock fresh while it works", async () => {
  const path = lockPath();
  const lock = await acquireLock(path, { staleMs: 400, heartbeatMs: 50 });
  const old = new Date(Date.now() - 10_000);
  await utimes(path, old, old);
  await sleep(200);
  // Touched again, so a waiter on another machine (which cannot check the pid) does not break it.
  assert.ok(Date.now() - (await stat(path)).mtimeMs < 1000);
  await lock.release();
});
