// The store on disk: paths under the state folder, atomic relative symlink swaps.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, readlink, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { readLink, removeLink, storeLayout, swapSymlink } from "../../../src/builder/build/store-layout.ts";
import { InfraError, InputError } from "../../../src/errors.ts";

let work: string;
let n = 0;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-store-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});
const fresh = async (): Promise<string> => {
  const d = join(work, `s${++n}`);
  await mkdir(d, { recursive: true });
  return d;
};

const HASH = "0123456789abcdef".repeat(4);

test("the layout places everything under the state folder", () => {
  const s = storeLayout("/srv/condaops/state/");
  assert.equal(s.stateDir, "/srv/condaops/state");
  assert.equal(s.buildsDir, "/srv/condaops/state/builds");
  assert.equal(s.blobsDir, "/srv/condaops/state/blobs");
  assert.equal(s.dbDir, "/srv/condaops/state/db");
  assert.equal(s.prefixFor(HASH, "py311"), "/srv/condaops/state/builds/0123456789ab-py311");
  assert.equal(s.envLink("data-science", "py311"), "/srv/condaops/state/envs/data-science/py311");
  assert.equal(s.pinLink("data-science", "py311", "a".repeat(40)), `/srv/condaops/state/pins/data-science/py311/${"a".repeat(40)}`);
});

test("names that could leave the state folder are refused (InputError store.name)", () => {
  const s = storeLayout("/srv/state");
  const bad: [string, () => string][] = [
    ["ns ..", () => s.envLink("..", "x")],
    ["ns with /", () => s.envLink("a/../..", "x")],
    ["name ../..", () => s.envLink("ns", "../..")],
    ["absolute name", () => s.envLink("ns", "/etc")],
    ["empty name", () => s.envLink("ns", "")],
    ["dot name", () => s.prefixFor(HASH, ".hidden")],
    ["hash too short", () => s.prefixFor("abc", "x")],
    ["hash with /", () => s.prefixFor(`${HASH.slice(0, 12)}/../../x`, "x")],
    ["commit ..", () => s.pinLink("ns", "x", "..")],
    ["commit with /", () => s.pinLink("ns", "x", "abcd/../../etc")],
    ["uppercase commit", () => s.pinLink("ns", "x", "ABCDEF")],
  ];
  for (const [what, fn] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof InputError && e.code === "store.name", what);
  }
});

test("swapSymlink makes the parent folders and a relative link; readLink resolves it", async () => {
  const state = await fresh();
  const s = storeLayout(state);
  const prefix = s.prefixFor(HASH, "py");
  await mkdir(prefix, { recursive: true });
  const link = s.envLink("ds", "py");
  await swapSymlink(link, prefix);
  assert.equal(await readlink(link), "../../builds/0123456789ab-py");
  assert.equal(await readLink(link), prefix);
  assert.equal(await readLink(s.envLink("ds", "other")), undefined);
  assert.equal(await readLink(join(state, "nope", "deeper")), undefined);

  // The state folder can move: the relative link still resolves.
  const moved = `${state}-moved`;
  await rename(state, moved);
  const m = storeLayout(moved);
  assert.equal(await readLink(m.envLink("ds", "py")), m.prefixFor(HASH, "py"));
  assert.ok((await stat(m.envLink("ds", "py"))).isDirectory(), "the moved link still reaches the prefix");
});

test("swapSymlink replaces an existing link and leaves no temp link", async () => {
  const state = await fresh();
  const s = storeLayout(state);
  const a = s.prefixFor(HASH, "py");
  const b = s.prefixFor(`fedcba9876543210${HASH.slice(16)}`, "py");
  await mkdir(a, { recursive: true });
  await mkdir(b, { recursive: true });
  const link = s.pinLink("ds", "py", "abc1234");
  await swapSymlink(link, a);
  await swapSymlink(link, b);
  assert.equal(await readLink(link), b);
  assert.deepEqual(await readdir(join(state, "pins", "ds", "py")), ["abc1234"]);
});

test("swapSymlink refuses to replace a real folder or file; readLink reports a non-link", async () => {
  const state = await fresh();
  const s = storeLayout(state);
  const link = s.envLink("ds", "py");
  await mkdir(link, { recursive: true });
  await writeFile(join(link, "keep"), "x");
  await assert.rejects(swapSymlink(link, s.prefixFor(HASH, "py")), (e: unknown) => e instanceof InfraError && e.code === "store.link" && /not a symlink/.test(e.message));
  assert.deepEqual(await readdir(link), ["keep"]);
  await assert.rejects(readLink(link), { code: "store.link" });
  await assert.rejects(removeLink(link), { code: "store.link" });
  assert.deepEqual(await readdir(link), ["keep"]);
});

test("removeLink removes the link, not its target; absent is fine", async () => {
  const state = await fresh();
  const s = storeLayout(state);
  const prefix = s.prefixFor(HASH, "py");
  await mkdir(prefix, { recursive: true });
  await writeFile(join(prefix, "f"), "x");
  const link = s.envLink("ds", "py");
  await swapSymlink(link, prefix);
  await removeLink(link);
  assert.equal(await readLink(link), undefined);
  assert.deepEqual(await readdir(prefix), ["f"]);
  await removeLink(link);
  await removeLink(join(state, "no", "such"));
});

test("a concurrent reader never sees the link missing during 200 swaps", async () => {
  const state = await fresh();
  const s = storeLayout(state);
  const targets = [s.prefixFor(HASH, "py"), s.prefixFor(`fedcba9876543210${HASH.slice(16)}`, "py")];
  for (const t of targets) await mkdir(t, { recursive: true });
  const link = s.envLink("ds", "py");
  await swapSymlink(link, targets[0] as string);

  // The reader runs in another thread, so its readlink/stat calls truly interleave with the renames.
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const reader = new Worker(
    `const { workerData, parentPort } = require("node:worker_threads");
     const fs = require("node:fs");
     const { link, flag } = workerData;
     let reads = 0, errors = [];
     parentPort.postMessage("started");
     while (Atomics.load(flag, 0) === 0) {
       try { fs.readlinkSync(link); fs.statSync(link); reads++; } catch (e) { errors.push(e.code); }
     }
     parentPort.postMessage({ reads, errors: errors.slice(0, 5), errorCount: errors.length });`,
    { eval: true, workerData: { link, flag } },
  );
  const messages: unknown[] = [];
  const done = new Promise<{ reads: number; errors: string[]; errorCount: number }>((resolve, reject) => {
    reader.on("message", (m: unknown) => {
      messages.push(m);
      if (m !== "started") resolve(m as { reads: number; errors: string[]; errorCount: number });
    });
    reader.on("error", reject);
  });
  while (messages.length === 0) await new Promise((r) => setTimeout(r, 5));
  for (let i = 1; i <= 200; i++) await swapSymlink(link, targets[i % 2] as string);
  Atomics.store(flag, 0, 1);
  const result = await done;
  await reader.terminate();
  assert.equal(result.errorCount, 0, `reader saw ${result.errors.join(", ")}`);
  assert.ok(result.reads > 200, `only ${result.reads} reads`);
  assert.equal(await readLink(link), targets[0]);
  assert.deepEqual(await readdir(join(state, "envs", "ds")), ["py"], "no temp links left");
});
