/**
 * Extraction off the main thread. Unpacking is CPU and syscall work (zstd, tar parsing, one
 * open/write/close per file, a bzip2 child per `.tar.bz2`) done with synchronous calls; on the
 * main thread it would also stall downloads. A small pool of worker threads (one per available
 * core by default) runs extractArchive (extract.ts, unchanged: every check applies) on paths and
 * limits it is sent; only paths, limits, stats and errors-as-data cross the thread boundary.
 *
 * Workers are started on demand, unref'd while idle (they never keep a process alive) and ended
 * after a short idle time. The sources are TypeScript run through tsx, under `node --import tsx`
 * (tests, `npm run`) as under the `condaops` bin (tsx's `register()`): neither reaches a worker
 * thread in Node 20, so each worker registers tsx itself before it loads its module (newWorker).
 * Should a worker be unable to start at all, extraction falls back to this thread, so installs
 * never depend on the pool.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InfraError, InputError, UsageError } from "../../errors.ts";
import { extractArchive } from "./extract.ts";
import type { ExtractLimits, ExtractStats } from "./extract.ts";
import type { ExtractReply, ExtractRequest, WireError } from "./extract-worker.ts";

/** Archives one worker unpacks at once: a second overlaps the first's waits (its bzip2 child, reads). */
const JOBS_PER_WORKER = 2;
/** An idle worker is ended after this long. */
const IDLE_MS = 5_000;
/**
 * A worker allocates few JS objects (file data lives in reused buffers): a small young generation
 * keeps its memory, and so the cost of every fork (a bzip2 child copies the process's page
 * tables), down.
 */
const RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 };

const ts = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(ts ? "./extract-worker.ts" : "./extract-worker.js", import.meta.url);

/**
 * A new worker thread running extract-worker. TypeScript sources need tsx in the worker, and
 * Node 20 gives it none: tsx's `--import` hook registers in the main thread only, and the bin's
 * API registration is per thread. So the worker starts from a small script that registers tsx
 * through its API, then imports the worker module.
 */
function newWorker(): Worker {
  if (!ts) return new Worker(WORKER_URL, { resourceLimits: RESOURCE_LIMITS });
  const api = import.meta.resolve("tsx/esm/api");
  return new Worker(`import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`, { eval: true, resourceLimits: RESOURCE_LIMITS });
}

export function fromWire(w: WireError): Error {
  const details = { ...(w.hint ? { hint: w.hint } : {}), ...(w.position ? { position: w.position } : {}) };
  const code = w.code ?? "package.extract";
  if (w.exitCode === 1) return new InputError(code, w.message, details);
  if (w.exitCode === 2) return new UsageError(code, w.message, details);
  if (w.exitCode === 3) return new InfraError(code, w.message, details);
  return new InfraError("package.extract", w.message);
}

interface Job {
  req: ExtractRequest;
  resolve(stats: ExtractStats): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
  /** It answered once: its module loaded. */
  ready: boolean;
  idle?: NodeJS.Timeout;
}

export class ExtractPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private seq = 0;
  /** Why workers cannot be used (extraction then runs in this thread). */
  private broken: string | undefined;

  constructor(
    private size: number,
    private readonly log?: (line: string) => void,
  ) {}

  /** Grows the pool's limit (the pool is shared; the largest request wins). */
  resize(size: number): void {
    this.size = Math.max(this.size, size);
  }

  get workers(): number {
    return this.slots.length;
  }

  /** Extracts as extractArchive does, in a worker thread. */
  extract(archive: string, dest: string, limits: ExtractLimits = {}): Promise<ExtractStats> {
    if (this.broken !== undefined || this.size < 1) return extractArchive(archive, dest, limits);
    return new Promise<ExtractStats>((resolve, reject) => {
      this.queue.push({ req: { id: ++this.seq, archive, dest, limits }, resolve, reject });
      this.dispatch();
    });
  }

  /** Starts up to `n` workers ahead of need (their start-up overlaps a download). */
  warm(n = 1): void {
    while (this.broken === undefined && this.slots.length < Math.min(n, this.size)) this.start();
  }

  private start(): Slot | undefined {
    let worker: Worker;
    try {
      worker = newWorker();
    } catch (e) {
      this.unavailable((e as Error).message);
      return undefined;
    }
    const slot: Slot = { worker, jobs: new Map(), ready: false };
    this.slots.push(slot);
    worker.unref();
    let failure: Error | undefined;
    worker.on("message", (m: ExtractReply) => this.reply(slot, m));
    worker.on("error", (e) => (failure = e));
    worker.on("exit", (code) => this.exited(slot, failure?.message ?? `exit code ${code}`));
    this.idle(slot);
    return slot;
  }

  private idle(slot: Slot): void {
    slot.worker.unref();
    clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      if (slot.jobs.size) return;
      this.remove(slot);
      void slot.worker.terminate();
    }, IDLE_MS);
    slot.idle.unref();
  }

  private remove(slot: Slot): boolean {
    const i = this.slots.indexOf(slot);
    if (i < 0) return false;
    this.slots.splice(i, 1);
    clearTimeout(slot.idle);
    return true;
  }

  private dispatch(): void {
    while (this.queue.length && this.broken === undefined) {
      let slot = this.slots.find((s) => s.jobs.size === 0);
      if (!slot && this.slots.length < this.size) slot = this.start();
      slot ??= this.slots.filter((s) => s.jobs.size < JOBS_PER_WORKER).sort((a, b) => a.jobs.size - b.jobs.size)[0];
      if (!slot) return;
      const job = this.queue.shift() as Job;
      slot.jobs.set(job.req.id, job);
      clearTimeout(slot.idle);
      slot.worker.ref();
      slot.worker.postMessage(job.req);
    }
    // Workers cannot start: what is queued runs here.
    for (const job of this.queue.splice(0)) extractArchive(job.req.archive, job.req.dest, job.req.limits).then(job.resolve, job.reject);
  }

  private reply(slot: Slot, m: ExtractReply): void {
    slot.ready = true;
    if (!("id" in m)) return;
    const job = slot.jobs.get(m.id);
    if (!job) return;
    slot.jobs.delete(m.id);
    if ("error" in m) job.reject(fromWire(m.error));
    else job.resolve(m.stats);
    if (!slot.jobs.size) this.idle(slot);
    this.dispatch();
  }

  private unavailable(why: string): void {
    if (this.broken !== undefined) return;
    this.broken = why;
    this.log?.(`extraction worker threads are unavailable (${why}); extracting in the main thread`);
  }

  private exited(slot: Slot, why: string): void {
    if (!this.remove(slot) && !slot.jobs.size) return; // ended by us
    const jobs = [...slot.jobs.values()];
    slot.jobs.clear();
    if (!slot.ready) {
      // It never started (no tsx, a bad option...): nothing of these jobs ran; run them here.
      this.unavailable(why);
      this.queue.unshift(...jobs);
    } else {
      for (const job of jobs) job.reject(new InfraError("package.extract-worker", `extracting ${job.req.archive}: the worker thread stopped (${why})`, { hint: "retry; report it if it happens again" }));
    }
    this.dispatch();
  }
}

let shared: ExtractPool | undefined;

/** The process's extraction pool (`size` workers at most; default: one per available core). */
export function extractPool(size = availableParallelism(), log?: (line: string) => void): ExtractPool {
  if (!shared) shared = new ExtractPool(size, log);
  else shared.resize(size);
  return shared;
}
