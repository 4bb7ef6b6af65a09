// The build log: timestamped, redacted lines streamed to storage in a few large appends.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalStorage } from "../../../src/blobs/local-folder.ts";
import type { ObjectWriter, StoredObject } from "../../../src/blobs/storage.ts";
import { createBuildLog } from "../../../src/builder/build/build-log.ts";

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-log-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** An in-memory writer that records every chunk and can be made slow or failing. */
function memoryWriter(opts: { delayMs?: number; failOn?: number } = {}): ObjectWriter & { chunks: string[]; inFlight: number; maxInFlight: number; finished: boolean; aborted: boolean } {
  const w = {
    chunks: [] as string[],
    inFlight: 0,
    maxInFlight: 0,
    finished: false,
    aborted: false,
    async write(chunk: Buffer | string): Promise<void> {
      w.inFlight++;
      w.maxInFlight = Math.max(w.maxInFlight, w.inFlight);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      w.inFlight--;
      if (opts.failOn !== undefined && w.chunks.length + 1 === opts.failOn) throw new Error("disk full");
      w.chunks.push(String(chunk));
    },
    async finish(): Promise<StoredObject> {
      w.finished = true;
      const all = w.chunks.join("");
      return { key: "mem", size: Buffer.byteLength(all), sha256: createHash("sha256").update(all).digest("hex") };
    },
    async abort(): Promise<void> {
      w.aborted = true;
    },
  };
  return w;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

test("lines arrive in order, each with an ISO timestamp; multi-line text gives one line each", async () => {
  const w = memoryWriter();
  const echoed: string[] = [];
  const log = createBuildLog(w, { echo: (l) => echoed.push(l) });
  log.line("solving ds/py");
  log.line("first\nsecond\r\nthird\n");
  log.line("done");
  await log.close();
  const lines = w.chunks.join("").split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.deepEqual(lines.map((l) => l.replace(ISO, "")), ["solving ds/py", "first", "second", "third", "done"]);
  for (const l of lines) assert.match(l, ISO);
  assert.deepEqual(echoed, lines);
  assert.ok(w.finished);
});

test("secrets and credentials in URLs are redacted before storage and echo", async () => {
  const w = memoryWriter();
  const echoed: string[] = [];
  const log = createBuildLog(w, { echo: (l) => echoed.push(l), secrets: ["hunter22", "tok-XYZ-123"] });
  log.line("fetching https://user:pass@conda.example.com/channel/linux-64/repodata.json");
  log.line("token tok-XYZ-123 and password hunter22 and https://conda.anaconda.org/t/abcdef/ch");
  await log.close();
  const text = w.chunks.join("");
  assert.doesNotMatch(text, /user:pass|hunter22|tok-XYZ-123|abcdef/);
  assert.match(text, /fetching https:\/\/conda\.example\.com\/channel/);
  assert.match(text, /token \*\*\* and password \*\*\* and https:\/\/conda\.anaconda\.org\/t\/\*\*\*\/ch/);
  assert.doesNotMatch(echoed.join("\n"), /user:pass|hunter22|tok-XYZ-123/);
});

test("with a small flushBytes the writer sees several chunks whose concatenation is the log", async () => {
  const w = memoryWriter({ delayMs: 2 });
  const log = createBuildLog(w, { flushBytes: 200 });
  const expected: string[] = [];
  for (let i = 0; i < 50; i++) {
    log.line(`line number ${i} ${"x".repeat(i % 7)}`);
    expected.push(`line number ${i} ${"x".repeat(i % 7)}`);
  }
  await log.close();
  assert.ok(w.chunks.length >= 5, `${w.chunks.length} chunks`);
  assert.ok(w.chunks.length < 50, "not one chunk per line");
  for (const c of w.chunks.slice(0, -1)) assert.ok(Buffer.byteLength(c) >= 200, "each flushed chunk reached flushBytes");
  assert.deepEqual(w.chunks.join("").slice(0, -1).split("\n").map((l) => l.replace(ISO, "")), expected);
  assert.equal(w.maxInFlight, 1, "one write in flight at a time");
});

test("many lines logged quickly: a handful of writes, not one per line", async () => {
  const w = memoryWriter();
  const log = createBuildLog(w);
  for (let i = 0; i < 5000; i++) log.line(`unpacking package-${i}-1.0-h0_0.conda`);
  await log.flush();
  const afterFlush = w.chunks.length;
  await log.close();
  assert.ok(afterFlush <= 5, `${afterFlush} writes for 5000 lines`);
  assert.ok(w.chunks.length <= 5);
  assert.equal(w.chunks.join("").split("\n").length - 1, 5000);
});

test("a line is written after flushMs even when the buffer stays small", async () => {
  const w = memoryWriter();
  const log = createBuildLog(w, { flushMs: 20 });
  log.line("waiting for the solver");
  assert.equal(w.chunks.length, 0);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(w.chunks.length, 1);
  assert.match(w.chunks[0] ?? "", /waiting for the solver\n$/);
  await log.close();
});

test("close returns size and sha256 matching what local storage holds", async () => {
  const storage = createLocalStorage(join(work, "blobs"));
  const log = createBuildLog(await storage.writer("builds/ds/py/abc/log/build.log"), { flushBytes: 100 });
  for (let i = 0; i < 100; i++) log.line(`step ${i}: ok`);
  const stored = await log.close();
  const content = await readFile(join(work, "blobs", "builds/ds/py/abc/log/build.log"));
  assert.equal(stored.key, "builds/ds/py/abc/log/build.log");
  assert.equal(stored.size, content.length);
  assert.equal(stored.sha256, createHash("sha256").update(content).digest("hex"));
  assert.equal(content.toString().split("\n").length - 1, 100);
});

test("a write failure is remembered and reported by close, which aborts the object", async () => {
  const w = memoryWriter({ failOn: 2 });
  const log = createBuildLog(w, { flushBytes: 50 });
  for (let i = 0; i < 20; i++) log.line(`line ${i} padding padding padding`);
  await assert.rejects(log.close(), /disk full/);
  assert.ok(w.aborted);
  assert.ok(!w.finished);
  assert.equal(w.chunks.length, 1, "no writes after the failure");
});

test("abort discards the buffer and the object; later lines are only echoed", async () => {
  const w = memoryWriter();
  const echoed: string[] = [];
  const log = createBuildLog(w, { echo: (l) => echoed.push(l) });
  log.line("a");
  await log.abort();
  log.line("b");
  assert.ok(w.aborted);
  assert.deepEqual(w.chunks, []);
  assert.equal(echoed.length, 2);
});
