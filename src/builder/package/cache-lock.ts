/**
 * A lock file per cache entry, so that processes (and machines sharing the cache over a network
 * filesystem) download and extract each package once. Nothing lives only in memory: the lock is
 * created atomically with its content already in it (a temp file hard-linked to the lock name,
 * which is atomic on NFS too; `open(wx)` where hard links are unsupported), names its holder
 * (pid, host, pid namespace, boot id, process start time) and is touched while held. A waiter
 * breaks it when the holder provably died (same host and pid namespace: the pid is gone, was
 * reused, or the machine rebooted) or when it has not been touched for `staleMs`. Breaking renames
 * the lock away and checks it moved the one it judged, so two waiters never break a fresh lock.
 * Correctness does not rest on the lock alone: the cache only publishes by atomic rename.
 */
import { randomBytes } from "node:crypto";
import { processAlive } from "../../fs/process-alive.ts";
// Lock files are a few bytes: synchronous calls, which cost a tenth of a promise round trip
// through the thread pool (an install takes and releases one lock per package it fetches).
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { readFile, readlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { InfraError } from "../../errors.ts";

export interface LockOptions {
  /** A lock not touched for this long is broken whoever holds it. Default 5 minutes. */
  staleMs?: number;
  /** How often a holder touches its lock. Default 15 s. */
  heartbeatMs?: number;
  /** Give up waiting after this long. Default 30 minutes. */
  waitMs?: number;
  log?(line: string): void;
}

export interface HeldLock {
  readonly path: string;
  /** Removes the lock (when it is still ours). */
  release(): Promise<void>;
}

/** What a lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  /** The pid namespace (`/proc/self/ns/pid`): pids are comparable only inside one. */
  pidns?: string;
  bootId?: string;
  /** Process start time in clock ticks since boot (`/proc/<pid>/stat` field 22): tells a reused pid. */
  start?: string;
  token: string;
  since: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const quiet = <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);
/** `fn()`, or undefined when it throws. */
function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

async function startTime(pid: number): Promise<string | undefined> {
  const text = await quiet(readFile(`/proc/${pid}/stat`, "utf8"));
  // Fields after the command name, which may itself hold spaces and parentheses.
  return text?.slice(text.lastIndexOf(")") + 2).split(" ")[19];
}

let self: Promise<Omit<LockHolder, "token" | "since">> | undefined;
function whoami(): Promise<Omit<LockHolder, "token" | "since">> {
  self ??= (async () => ({
    pid: process.pid,
    host: hostname(),
    pidns: await quiet(readlink("/proc/self/ns/pid")),
    bootId: (await quiet(readFile("/proc/sys/kernel/random/boot_id", "utf8")))?.trim(),
    start: await startTime(process.pid),
  }))();
  return self;
}

function parseHolder(text: string | undefined): LockHolder | undefined {
  try {
    const h = JSON.parse(text ?? "") as Partial<LockHolder>;
    return typeof h.pid === "number" && typeof h.host === "string" && typeof h.token === "string" ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}


/** Why the lock is stale, or undefined while its holder may still be working. */
async function staleness(holder: LockHolder | undefined, mtimeMs: number, staleMs: number): Promise<string | undefined> {
  const age = Date.now() - mtimeMs;
  if (age > staleMs) return `not touched for ${Math.round(age / 1000)} s`;
  const me = await whoami();
  if (!holder || holder.host !== me.host || holder.pidns !== me.pidns) return undefined;
  if (holder.bootId && me.bootId && holder.bootId !== me.bootId) return "its holder ran before the machine rebooted";
  if (!processAlive(holder.pid)) return `its holder (pid ${holder.pid}) is gone`;
  if (holder.start && holder.start !== (await startTime(holder.pid))) return `its holder's pid ${holder.pid} now belongs to another process`;
  return undefined;
}

function readHolder(path: string): { holder?: LockHolder; ino: number; mtimeMs: number } | undefined {
  const st = quietly(() => statSync(path));
  if (!st) return undefined;
  return { holder: parseHolder(quietly(() => readFileSync(path, "utf8"))), ino: st.ino, mtimeMs: st.mtimeMs };
}

/** Creates `path` holding `content`, atomically; false when it exists. */
function create(path: string, content: string, token: string): boolean {
  const tmp = `${path}.tmp-${token}`;
  writeFileSync(tmp, content, { mode: 0o644 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV" && code !== "EMLINK") throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
  // No hard links on this filesystem: exclusive create, content written right after (a reader
  // meanwhile sees an unparsable holder and judges by age only).
  try {
    const fd = openSync(path, "wx", 0o644);
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
}

/** Moves a stale lock away, if it is still the one judged stale. */
function breakLock(path: string, judged: { holder?: LockHolder; ino: number }, why: string, log?: (line: string) => void): void {
  const aside = `${path}.broken-${randomBytes(6).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const moved = readHolder(aside);
  const same = judged.holder && moved?.holder ? moved.holder.token === judged.holder.token : moved?.ino === judged.ino;
  if (!same) {
    // Someone replaced it between our look and our move: put theirs back.
    quietly(() => linkSync(aside, path));
  } else {
    log?.(`broke the stale lock ${path}: ${why}`);
  }
  rmSync(aside, { force: true });
}

/** Takes the lock at `path`, waiting (with backoff) while another live process holds it. */
export async function acquireLock(path: string, opts: LockOptions = {}): Promise<HeldLock> {
  const staleMs = opts.staleMs ?? 5 * 60_000;
  const heartbeatMs = opts.heartbeatMs ?? Math.min(15_000, staleMs / 4);
  const waitMs = opts.waitMs ?? 30 * 60_000;
  const token = randomBytes(12).toString("hex");
  const content = JSON.stringify({ ...(await whoami()), token, since: new Date().toISOString() } satisfies LockHolder);
  const started = Date.now();
  let delay = 20;
  for (;;) {
    if (create(path, content, token)) break;
    const seen = readHolder(path);
    if (!seen) continue; // released meanwhile
    const why = await staleness(seen.holder, seen.mtimeMs, staleMs);
    if (why) {
      breakLock(path, seen, why, opts.log);
      continue;
    }
    if (Date.now() - started > waitMs) {
      const h = seen.holder;
      throw new InfraError("cache.lock-timeout", `waited ${Math.round(waitMs / 1000)} s for ${path}, held by ${h ? `pid ${h.pid} on ${h.host} since ${h.since}` : "an unknown process"}`, {
        hint: "another install is still working on this package; if no such process exists, delete the lock file",
      });
    }
    await sleep(delay * (0.5 + Math.random()));
    delay = Math.min(delay * 1.5, 500);
  }

  const ours = (): boolean => parseHolder(quietly(() => readFileSync(path, "utf8")))?.token === token;
  const beat = setInterval(() => {
    if (ours()) {
      const now = new Date();
      void quiet(utimes(path, now, now));
    }
  }, heartbeatMs);
  beat.unref();
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      if (ours()) quietly(() => unlinkSync(path));
    },
  };
}
