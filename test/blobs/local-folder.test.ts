// The local-folder object storage: the storage contract every backend passes (storage-contract.ts),
// then what is particular to a folder: atomic renames, partial files, and refusing every key or
// planted symlink that would reach outside it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createLocalStorage } from "../../src/blobs/local-folder.ts";
import type { BlobStorage } from "../../src/blobs/storage.ts";
import { InfraError, InputError } from "../../src/errors.ts";
import { keyedOperations, storageContract } from "./storage-contract.ts";

storageContract({
  name: "local folder",
  async make() {
    const dir = await mkdtemp(join(tmpdir(), "condaops-contract-"));
    return { storage: createLocalStorage(join(dir, "root")), cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
});

let work: string;
let n = 0;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-blobs-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A fresh sandbox: `<sandbox>/root` is the storage folder, `<sandbox>/outside` a sibling. */
async function sandbox(): Promise<{ dir: string; root: string; outside: string; storage: BlobStorage }> {
  const dir = join(work, `s${++n}`);
  const root = join(dir, "root");
  const outside = join(dir, "outside");
  await mkdir(outside, { recursive: true });
  return { dir, root, outside, storage: createLocalStorage(root) };
}

/** Every path under `dir` (relative), symlinks not followed. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) await walk(join(d, e.name), r);
    }
  };
  await walk(dir, "");
  return out.sort();
}

const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");
const readAll = async (r: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

test("put of a Buffer, a string and a Readable: get, getBuffer and stat return it; size and sha256 match", async () => {
  const { root, storage } = await sandbox();
  const bin = Buffer.from([0, 1, 2, 255, 254]);
  assert.deepEqual(await storage.put("builds/ds/py/c1/lock/conda-lock.yml", bin), { key: "builds/ds/py/c1/lock/conda-lock.yml", size: 5, sha256: sha(bin) });
  const text = "héllo\n";
  assert.deepEqual(await storage.put("t.txt", text), { key: "t.txt", size: Buffer.byteLength(text), sha256: sha(text) });
  const parts = [Buffer.from("abc"), Buffer.from("def")];
  assert.deepEqual(await storage.put("s/stream.bin", Readable.from(parts)), { key: "s/stream.bin", size: 6, sha256: sha("abcdef") });

  assert.deepEqual(await storage.getBuffer("builds/ds/py/c1/lock/conda-lock.yml"), bin);
  assert.equal((await readAll(await storage.get("t.txt"))).toString(), text);
  assert.equal((await readFile(join(root, "s/stream.bin"))).toString(), "abcdef");
  const info = await storage.stat("s/stream.bin");
  assert.equal(info?.key, "s/stream.bin");
  assert.equal(info?.size, 6);
  assert.ok(info?.modified instanceof Date);
  assert.equal(await storage.stat("s/nope"), undefined);
  assert.equal(await storage.stat("s"), undefined, "a folder is not an object");
  assert.equal(storage.location, root);
});

test("put streams a Readable to disk as it comes (never buffering it whole) and replaces atomically", async () => {
  const { root, storage } = await sandbox();
  await storage.put("big.bin", "old");
  const chunk = Buffer.alloc(1024 * 1024, 7);
  let seenOnDisk = 0;
  async function* body(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 8; i++) {
      yield chunk;
      // The previous chunks are already in the temp file next to the object; the object is still the old one.
      const temps = (await readdir(root)).filter((f) => f.startsWith(".big.bin.tmp-"));
      assert.equal(temps.length, 1);
      seenOnDisk = Math.max(seenOnDisk, (await stat(join(root, temps[0] as string))).size);
      assert.equal(await readFile(join(root, "big.bin"), "utf8"), "old");
    }
  }
  const stored = await storage.put("big.bin", Readable.from(body()));
  assert.equal(stored.size, 8 * chunk.length);
  assert.ok(seenOnDisk >= 7 * chunk.length, `only ${seenOnDisk} bytes were on disk before the end`);
  assert.equal((await stat(join(root, "big.bin"))).size, 8 * chunk.length);
  assert.deepEqual(await readdir(root), ["big.bin"], "no temp file left");
});

test("a put whose body fails leaves the old object and no temp file", async () => {
  const { root, storage } = await sandbox();
  await storage.put("a/x", "old");
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.from("partial");
    throw new Error("upstream broke");
  }
  await assert.rejects(storage.put("a/x", Readable.from(failing())), /upstream broke/);
  assert.equal(await readFile(join(root, "a/x"), "utf8"), "old");
  assert.deepEqual(await tree(root), ["a", "a/x"]);
});

test("writer appends each chunk to one open partial file; nothing is visible before finish", async () => {
  const { root, storage } = await sandbox();
  const w = await storage.writer("builds/ds/py/c1/log/build.log");
  const folder = join(root, "builds/ds/py/c1/log");
  const partials = (await readdir(folder)).filter((f) => /^\.build\.log\.partial-/.test(f));
  assert.equal(partials.length, 1);
  const partial = join(folder, partials[0] as string);
  const ino = (await stat(partial)).ino;
  let expected = "";
  for (let i = 0; i < 5; i++) {
    const c = `line ${i}\n`.repeat(100);
    await w.write(c);
    expected += c;
    const s = await stat(partial);
    assert.equal(s.ino, ino, "the same file, appended to, not rewritten");
    assert.equal(s.size, Buffer.byteLength(expected), "each write reaches the disk at once");
    assert.equal(await storage.stat("builds/ds/py/c1/log/build.log"), undefined);
    await assert.rejects(storage.get("builds/ds/py/c1/log/build.log"), { code: "storage.missing" });
  }
  assert.deepEqual(await storage.list(""), [], "list skips partial files");
  // Writes issued without awaiting keep their order.
  await Promise.all([w.write("x"), w.write(Buffer.from("y")), w.write("z\n")]);
  expected += "xyz\n";
  const done = await w.finish();
  assert.deepEqual(done, { key: "builds/ds/py/c1/log/build.log", size: Buffer.byteLength(expected), sha256: sha(expected) });
  assert.equal(await readFile(join(folder, "build.log"), "utf8"), expected);
  assert.equal((await stat(join(folder, "build.log"))).ino, ino, "renamed into place");
  assert.deepEqual(await readdir(folder), ["build.log"]);
  await assert.rejects(w.write("late"), /already finished/);
});

test("writer abort removes the partial file", async () => {
  const { root, storage } = await sandbox();
  const w = await storage.writer("logs/x.log");
  await w.write("some");
  await w.abort();
  assert.deepEqual(await readdir(join(root, "logs")), []);
  assert.equal(await storage.stat("logs/x.log"), undefined);
  await w.abort(); // twice is fine
});

test("get of an absent object: InfraError storage.missing naming the key", async () => {
  const { storage } = await sandbox();
  for (const op of [() => storage.get("no/such/key"), () => storage.getBuffer("no/such/key")]) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof InfraError);
      assert.equal(e.code, "storage.missing");
      assert.match(e.message, /no\/such\/key/);
      return true;
    });
  }
  await storage.put("no/such/other", "x");
  await assert.rejects(storage.get("no/such"), { code: "storage.missing" }, "a folder is not an object");
});

test("list is recursive, sorted, uses / keys, matches partial segments, skips temp files", async () => {
  const { root, storage } = await sandbox();
  for (const k of ["b/2", "a/z/1", "a/y", "ab/c", "a/z/0", "c"]) await storage.put(k, k);
  await writeFile(join(root, "a", ".y.tmp-abc123"), "junk");
  const keys = async (p: string): Promise<string[]> => (await storage.list(p)).map((o) => o.key);
  assert.deepEqual(await keys(""), ["a/y", "a/z/0", "a/z/1", "ab/c", "b/2", "c"]);
  assert.deepEqual(await keys("a/"), ["a/y", "a/z/0", "a/z/1"]);
  assert.deepEqual(await keys("a"), ["a/y", "a/z/0", "a/z/1", "ab/c"]);
  assert.deepEqual(await keys("a/z"), ["a/z/0", "a/z/1"]);
  assert.deepEqual(await keys("a/z/1"), ["a/z/1"]);
  assert.deepEqual(await keys("nothing/"), []);
  const [first] = await storage.list("a/y");
  assert.equal(first?.size, 3);
  assert.deepEqual(await createLocalStorage(join(root, "not-made-yet")).list(""), []);
});

test("delete: absent is fine; removes emptied folders up to (not including) the root", async () => {
  const { root, storage } = await sandbox();
  await storage.delete("never/was");
  await storage.put("builds/ds/py/c1/lock/a", "1");
  await storage.put("builds/ds/py/c2/lock/b", "2");
  await storage.delete("builds/ds/py/c1/lock/a");
  assert.deepEqual(await tree(root), ["builds", "builds/ds", "builds/ds/py", "builds/ds/py/c2", "builds/ds/py/c2/lock", "builds/ds/py/c2/lock/b"]);
  await storage.delete("builds/ds/py/c2/lock/b");
  assert.deepEqual(await tree(root), []);
  assert.ok((await stat(root)).isDirectory(), "the root stays");
  await storage.delete("builds/ds/py/c2/lock/b");
});

test("downloadUrl is a file:// URL of the object", async () => {
  const { root, storage } = await sandbox();
  await storage.put("a b/c#d.txt", "x");
  const url = await storage.downloadUrl("a b/c#d.txt");
  assert.match(url, /^file:\/\//);
  assert.equal(fileURLToPath(url), join(root, "a b/c#d.txt"));
  assert.equal(await readFile(fileURLToPath(url), "utf8"), "x");
});

test("a key cannot be both an object and a folder; keys cannot name temp files", async () => {
  const { storage } = await sandbox();
  await storage.put("a", "x");
  await assert.rejects(storage.put("a/b", "y"), (e: unknown) => e instanceof InputError && e.code === "storage.key" && /a is an object/.test(e.message));
  await storage.put("d/e", "x");
  await assert.rejects(storage.put("d", "y"), (e: unknown) => e instanceof InputError && /is a folder/.test(e.message));
  assert.equal(await storage.getBuffer("a").then(String), "x");
  await assert.rejects(storage.put("d/.e.partial-0a1b2c", "y"), { code: "storage.key" });
});

test("I/O failures are InfraError storage.io naming the location", async () => {
  const { dir } = await sandbox();
  await writeFile(join(dir, "file"), "not a folder");
  const storage = createLocalStorage(join(dir, "file", "root"));
  await assert.rejects(storage.put("k", "x"), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.equal(e.code, "storage.io");
    assert.ok(e.message.includes(join(dir, "file", "root")), e.message);
    return true;
  });
});

const HOSTILE = ["../x", "../outside/x", "/etc/passwd", "a//b", "a/./b", "a\\b", "..\\outside\\x", "a\0b", "a/../../outside/x", ""];

for (const key of HOSTILE) {
  test(`hostile key ${JSON.stringify(key)}: InputError storage.key from every operation, nothing written outside`, async () => {
    const { dir, root, storage } = await sandbox();
    await storage.put("keep", "k");
    const before = await tree(dir);
    for (const [name, op] of keyedOperations(storage, key)) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof InputError, `${name}: ${String(e)}`);
        assert.equal(e.code, "storage.key", name);
        return true;
      });
    }
    assert.deepEqual(await tree(dir), before, "nothing changed anywhere in the sandbox");
    assert.deepEqual(await tree(root), ["keep"]);
  });
}

test("list refuses hostile prefixes", async () => {
  const { storage } = await sandbox();
  for (const p of ["../", "/etc", "a//", "a/../", "a\\", "a\0"]) await assert.rejects(storage.list(p), { code: "storage.key" }, p);
});

test("a folder symlink planted inside the root that points outside is refused, never followed", async () => {
  const { dir, root, outside, storage } = await sandbox();
  await writeFile(join(outside, "secret"), "s3cret");
  await storage.put("keep", "k");
  await symlink(outside, join(root, "evil"));
  await mkdir(join(root, "deep"));
  await symlink("../../outside", join(root, "deep", "rel"));
  const before = await tree(dir);
  for (const key of ["evil/x", "evil/new/folder/x", "evil/secret", "deep/rel/x", "deep/rel/secret"]) {
    const ops: [string, () => Promise<unknown>][] = [
      ["put", () => storage.put(key, "evil")],
      ["writer", () => storage.writer(key)],
      ["get", () => storage.get(key)],
      ["getBuffer", () => storage.getBuffer(key)],
      ["stat", () => storage.stat(key)],
      ["delete", () => storage.delete(key)],
    ];
    for (const [name, op] of ops) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof InfraError, `${name} ${key}: ${String(e)}`);
        assert.equal(e.code, "storage.escape", `${name} ${key}`);
        assert.match(e.message, /outside the storage folder/);
        return true;
      });
    }
  }
  await assert.rejects(storage.list("evil/"), { code: "storage.escape" });
  assert.deepEqual((await storage.list("")).map((o) => o.key), ["keep"], "list does not follow symlinks");
  assert.deepEqual(await tree(dir), before, "nothing written or removed anywhere");
  assert.deepEqual(await readdir(outside), ["secret"]);
  assert.equal(await readFile(join(outside, "secret"), "utf8"), "s3cret");
});

test("a file symlink pointing outside is not read; put replaces the link itself, the outside file is untouched", async () => {
  const { root, outside, storage } = await sandbox();
  await writeFile(join(outside, "secret"), "s3cret");
  await mkdir(root);
  await symlink(join(outside, "secret"), join(root, "leak"));
  await assert.rejects(storage.getBuffer("leak"), { code: "storage.escape" });
  await assert.rejects(storage.stat("leak"), { code: "storage.escape" });
  await storage.delete("leak"); // removes the link, inside the root
  assert.equal((await lstat(join(outside, "secret"))).isFile(), true);
  await symlink(join(outside, "secret"), join(root, "leak"));
  await storage.put("leak", "mine");
  assert.equal(await readFile(join(outside, "secret"), "utf8"), "s3cret");
  assert.equal((await lstat(join(root, "leak"))).isFile(), true);
  assert.equal(await storage.getBuffer("leak").then(String), "mine");
});

test("symlinks that stay inside the root are followed", async () => {
  const { root, storage } = await sandbox();
  await storage.put("real/a", "1");
  await symlink("real", join(root, "alias"));
  assert.equal(await storage.getBuffer("alias/a").then(String), "1");
  await storage.put("alias/b", "2");
  assert.equal(await readFile(join(root, "real/b"), "utf8"), "2");
});

test("a storage root that is itself a symlink works", async () => {
  const { dir, outside } = await sandbox();
  await symlink(outside, join(dir, "link-root"));
  const storage = createLocalStorage(join(dir, "link-root"));
  await storage.put("a/b", "x");
  assert.equal(await readFile(join(outside, "a/b"), "utf8"), "x");
  assert.deepEqual((await storage.list("")).map((o) => o.key), ["a/b"]);
  await storage.delete("a/b");
  assert.deepEqual(await readdir(outside), []);
});

test("salvage publishes what an unfinished writer left, once, and never over a finished object", async () => {
  const root = await mkdtemp(join(tmpdir(), "condaops-salvage-"));
  try {
    const storage = createLocalStorage(root);
    assert.equal(await storage.salvage("builds/a/log/build.log"), undefined, "nothing there");
    const w = await storage.writer("builds/a/log/build.log");
    await w.write("line one\n");
    await w.write("line two\n");
    // The process dies here: no finish, no abort.
    const short = await storage.writer("builds/a/log/build.log");
    await short.write("x");
    const got = await storage.salvage("builds/a/log/build.log");
    assert.equal(got?.size, 18);
    assert.equal(got?.sha256, createHash("sha256").update("line one\nline two\n").digest("hex"));
    assert.equal((await storage.getBuffer("builds/a/log/build.log")).toString(), "line one\nline two\n");
    assert.deepEqual((await readdir(join(root, "builds", "a", "log"))).sort(), ["build.log"], "the shorter leftover is gone too");
    assert.equal(await storage.salvage("builds/a/log/build.log"), undefined, "only once");

    await storage.put("builds/b/log/build.log", "finished\n");
    const late = await storage.writer("builds/b/log/build.log");
    await late.write("stray");
    assert.equal(await storage.salvage("builds/b/log/build.log"), undefined);
    assert.equal((await storage.getBuffer("builds/b/log/build.log")).toString(), "finished\n");
    await assert.rejects(storage.salvage("../escape"), /storage\.key|not a valid|key/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
