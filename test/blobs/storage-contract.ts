// What every BlobStorage backend promises, as tests any backend's test file registers with its own
// factory: the local folder and S3 (s3rver here, a real server when one is configured) must pass
// the same ones, so code written against one behaves the same on the other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import type { BlobStorage } from "../../src/blobs/storage.ts";
import { InfraError, InputError } from "../../src/errors.ts";

export interface ContractSubject {
  storage: BlobStorage;
  /** How many parts the stored object `key` was uploaded in (for backends with multipart uploads). */
  partsOf?(key: string): Promise<number>;
  /** Removes what the test stored (a real bucket outlives the test). */
  cleanup?(): Promise<void>;
}

export interface ContractOptions {
  /** Shown before each test's name. */
  name: string;
  /** A fresh, empty storage for one test. */
  make(): Promise<ContractSubject>;
  /** Why the whole contract is skipped here (a server that is not configured), if it is. */
  skip?: string;
  /** The backend's multipart part size: bodies larger than it must arrive whole, in several parts. */
  partSize?: number;
  /**
   * Why this server lists keys holding `+` or `%` wrongly, if it does (s3rver ignores S3's
   * `encoding-type=url`, which the client asks for and decodes). Such keys are then left out of
   * the listing check only: storing and reading them is still tested.
   */
  listMangles?: string;
}

export const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

export async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks);
}

/** The bytes behind a download URL: a file for `file://`, an HTTP GET (no headers, as a browser) otherwise. */
export async function download(url: string): Promise<Buffer> {
  if (url.startsWith("file:")) return readFile(fileURLToPath(url));
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url.replace(/X-Amz-Signature=[0-9a-f]+/, "X-Amz-Signature=...")}: ${res.status} ${await res.clone().text()}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Keys that must never reach a backend. */
export const HOSTILE_KEYS = ["../x", "../outside/x", "/etc/passwd", "a//b", "a/./b", "a\\b", "..\\outside\\x", "a\0b", "a/../../outside/x", "", "a/", "x".repeat(1025)];
export const HOSTILE_PREFIXES = ["../", "/etc", "a//", "a/../", "a\\", "a\0"];

/** Every operation that takes a key, called with `key`: each must refuse a hostile one. */
export function keyedOperations(storage: BlobStorage, key: string): [string, () => Promise<unknown>][] {
  return [
    ["put", () => storage.put(key, "evil")],
    ["put stream", () => storage.put(key, Readable.from([Buffer.from("evil")]))],
    ["writer", () => storage.writer(key)],
    ["get", () => storage.get(key)],
    ["getBuffer", () => storage.getBuffer(key)],
    ["stat", () => storage.stat(key)],
    ["delete", () => storage.delete(key)],
    ["salvage", () => storage.salvage(key)],
    ["downloadUrl", () => storage.downloadUrl(key)],
  ];
}

export function storageContract(options: ContractOptions): void {
  const { name, make, partSize } = options;
  const it = (title: string, fn: (s: ContractSubject) => Promise<void>): void => {
    test(`${name}: ${title}`, options.skip !== undefined ? { skip: options.skip } : {}, async () => {
      const subject = await make();
      try {
        await fn(subject);
      } finally {
        await subject.cleanup?.();
      }
    });
  };

  it("put of a Buffer, a string and a Readable: get, getBuffer and stat return it; size and sha256 match", async ({ storage }) => {
    const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
    assert.deepEqual(await storage.put("builds/ds/py/c1/lock/conda-lock.yml", bin), { key: "builds/ds/py/c1/lock/conda-lock.yml", size: bin.length, sha256: sha256(bin) });
    const text = "héllo\nwörld ✓\n";
    assert.deepEqual(await storage.put("t.txt", text), { key: "t.txt", size: Buffer.byteLength(text), sha256: sha256(text) });
    const parts = [Buffer.from("abc"), Buffer.from("def"), "ghi"];
    assert.deepEqual(await storage.put("s/stream.bin", Readable.from(parts)), { key: "s/stream.bin", size: 9, sha256: sha256("abcdefghi") });
    assert.deepEqual(await storage.put("empty", Buffer.alloc(0)), { key: "empty", size: 0, sha256: sha256("") });

    assert.deepEqual(await storage.getBuffer("builds/ds/py/c1/lock/conda-lock.yml"), bin);
    assert.equal((await readAll(await storage.get("t.txt"))).toString(), text);
    assert.equal((await storage.getBuffer("s/stream.bin")).toString(), "abcdefghi");
    assert.equal((await storage.getBuffer("empty")).length, 0);
    const info = await storage.stat("s/stream.bin");
    assert.equal(info?.key, "s/stream.bin");
    assert.equal(info?.size, 9);
    assert.ok(info?.modified instanceof Date && !Number.isNaN(info.modified.getTime()));
    assert.ok(Math.abs(info.modified.getTime() - Date.now()) < 10 * 60 * 1000, `modified ${info.modified.toISOString()} is not about now`);
    assert.equal(await storage.stat("s/nope"), undefined);
    assert.equal(await storage.stat("s"), undefined, "a folder is not an object");
    assert.equal(typeof storage.location, "string");
  });

  it("keys with spaces, unicode and URL characters round-trip", async ({ storage }) => {
    const keys = ["a b/c#d+e=f&g?h;i.txt", "ünï/名前/x%20y", "dots.in.name/v1.2.3~rc"];
    for (const k of keys) await storage.put(k, `content of ${k}`);
    for (const k of keys) assert.equal((await storage.getBuffer(k)).toString(), `content of ${k}`, k);
    for (const k of keys) assert.equal((await storage.stat(k))?.size, Buffer.byteLength(`content of ${k}`), k);
    const listed = (await storage.list("")).map((o) => o.key);
    if (options.listMangles === undefined) assert.deepEqual(listed, [...keys].sort());
    else for (const k of keys.filter((k) => !/[+%]/.test(k))) assert.ok(listed.includes(k), `${k} listed (${options.listMangles})`);
    assert.equal(listed.length, keys.length);
    for (const k of keys) {
      await storage.delete(k);
      assert.equal(await storage.stat(k), undefined, k);
    }
  });

  it("put replaces an object whole; a put whose body fails leaves the old object", async ({ storage }) => {
    await storage.put("a/x", "old");
    await storage.put("a/x", "newer");
    assert.equal((await storage.getBuffer("a/x")).toString(), "newer");
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from("partial");
      throw new Error("upstream broke");
    }
    await assert.rejects(storage.put("a/x", Readable.from(failing())), /upstream broke/);
    assert.equal((await storage.getBuffer("a/x")).toString(), "newer");
    assert.deepEqual((await storage.list("")).map((o) => o.key), ["a/x"]);
  });

  it("get of an absent object: InfraError storage.missing naming the key", async ({ storage }) => {
    for (const op of [() => storage.get("no/such/key"), () => storage.getBuffer("no/such/key")]) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof InfraError, String(e));
        assert.equal(e.code, "storage.missing");
        assert.match(e.message, /no\/such\/key/);
        return true;
      });
    }
    await storage.put("no/such/other", "x");
    await assert.rejects(storage.get("no/such"), { code: "storage.missing" }, "a folder is not an object");
  });

  it("list is recursive and sorted, uses / keys, matches partial segments", async ({ storage }) => {
    for (const k of ["b/2", "a/z/1", "a/y", "ab/c", "a/z/0", "c"]) await storage.put(k, k);
    const keys = async (p: string): Promise<string[]> => (await storage.list(p)).map((o) => o.key);
    assert.deepEqual(await keys(""), ["a/y", "a/z/0", "a/z/1", "ab/c", "b/2", "c"]);
    assert.deepEqual(await keys("a/"), ["a/y", "a/z/0", "a/z/1"]);
    assert.deepEqual(await keys("a"), ["a/y", "a/z/0", "a/z/1", "ab/c"]);
    assert.deepEqual(await keys("a/z"), ["a/z/0", "a/z/1"]);
    assert.deepEqual(await keys("a/z/1"), ["a/z/1"]);
    assert.deepEqual(await keys("nothing/"), []);
    const [first] = await storage.list("a/y");
    assert.equal(first?.size, 3);
    assert.ok(first?.modified instanceof Date);
  });

  it("delete: absent is fine; the object is gone from stat, get and list", async ({ storage }) => {
    await storage.delete("never/was");
    await storage.put("builds/ds/py/c1/lock/a", "1");
    await storage.put("builds/ds/py/c2/lock/b", "2");
    await storage.delete("builds/ds/py/c1/lock/a");
    assert.equal(await storage.stat("builds/ds/py/c1/lock/a"), undefined);
    await assert.rejects(storage.get("builds/ds/py/c1/lock/a"), { code: "storage.missing" });
    assert.deepEqual((await storage.list("builds/")).map((o) => o.key), ["builds/ds/py/c2/lock/b"]);
    await storage.delete("builds/ds/py/c2/lock/b");
    await storage.delete("builds/ds/py/c2/lock/b");
    assert.deepEqual(await storage.list(""), []);
  });

  it("writer: nothing is visible before finish; writes keep their order; finish publishes", async ({ storage }) => {
    const key = "builds/ds/py/c1/log/build.log";
    const w = await storage.writer(key);
    let expected = "";
    for (let i = 0; i < 5; i++) {
      const c = `line ${i}\n`.repeat(100);
      await w.write(c);
      expected += c;
      assert.equal(await storage.stat(key), undefined);
    }
    await assert.rejects(storage.get(key), { code: "storage.missing" });
    assert.deepEqual(await storage.list(""), [], "list shows no unfinished object");
    // Writes issued without awaiting keep their order.
    await Promise.all([w.write("x"), w.write(Buffer.from("y")), w.write("z\n")]);
    expected += "xyz\n";
    const done = await w.finish();
    assert.deepEqual(done, { key, size: Buffer.byteLength(expected), sha256: sha256(expected) });
    assert.equal((await storage.getBuffer(key)).toString(), expected);
    assert.deepEqual((await storage.list("")).map((o) => o.key), [key]);
    await assert.rejects(w.write("late"), /already finished/);
    await assert.rejects(w.finish(), /already finished/);
    assert.equal(await storage.salvage(key), undefined, "a finished writer leaves nothing to salvage");
  });

  it("writer abort leaves nothing, twice is fine, and nothing is left to salvage", async ({ storage }) => {
    const w = await storage.writer("logs/x.log");
    await w.write("some");
    await w.abort();
    await w.abort();
    assert.equal(await storage.stat("logs/x.log"), undefined);
    assert.deepEqual(await storage.list(""), []);
    assert.equal(await storage.salvage("logs/x.log"), undefined);
    assert.equal(await storage.stat("logs/x.log"), undefined);
  });

  it("salvage publishes what an unfinished writer left, once, and never over a finished object", async ({ storage }) => {
    assert.equal(await storage.salvage("builds/a/log/build.log"), undefined, "nothing there");
    const w = await storage.writer("builds/a/log/build.log");
    await w.write("line one\n");
    await w.write("line two\n");
    // The process dies here: no finish, no abort. An older attempt left a shorter one.
    const short = await storage.writer("builds/a/log/build.log");
    await short.write("x");
    const got = await storage.salvage("builds/a/log/build.log");
    assert.deepEqual(got, { key: "builds/a/log/build.log", size: 18, sha256: sha256("line one\nline two\n") });
    assert.equal((await storage.getBuffer("builds/a/log/build.log")).toString(), "line one\nline two\n");
    assert.equal(await storage.salvage("builds/a/log/build.log"), undefined, "only once");

    await storage.put("builds/b/log/build.log", "finished\n");
    const late = await storage.writer("builds/b/log/build.log");
    await late.write("stray");
    assert.equal(await storage.salvage("builds/b/log/build.log"), undefined);
    assert.equal((await storage.getBuffer("builds/b/log/build.log")).toString(), "finished\n");
    await assert.rejects(storage.salvage("../escape"), { code: "storage.key" });
  });

  it("hostile keys: InputError storage.key from every operation, nothing stored", async ({ storage }) => {
    await storage.put("keep", "k");
    for (const key of HOSTILE_KEYS) {
      for (const [op, run] of keyedOperations(storage, key)) {
        await assert.rejects(run(), (e: unknown) => {
          assert.ok(e instanceof InputError, `${op} ${JSON.stringify(key.slice(0, 20))}: ${String(e)}`);
          assert.equal(e.code, "storage.key", op);
          return true;
        });
      }
    }
    for (const p of HOSTILE_PREFIXES) await assert.rejects(storage.list(p), { code: "storage.key" }, p);
    assert.deepEqual((await storage.list("")).map((o) => o.key), ["keep"]);
  });

  it("downloadUrl gives the exact bytes to a plain download", async ({ storage }) => {
    const bin = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    for (const key of ["builds/ds/py/c1/image/layer.tar", "a b/c#d+e&f?.bin", "ünï/名前.bin"]) {
      await storage.put(key, bin);
      const url = await storage.downloadUrl(key, 600);
      assert.deepEqual(await download(url), bin, key);
    }
  });

  if (partSize !== undefined) {
    it(`a body larger than the part size (${partSize} bytes) arrives whole, uploaded in parts`, async ({ storage, partsOf }) => {
      // Two full parts and a short last one, streamed in chunks that do not line up with parts.
      const total = 2 * partSize + 123_457;
      const body = randomBytes(total);
      const chunks = function* (): Generator<Buffer> {
        for (let at = 0; at < total; at += 1_000_003) yield body.subarray(at, Math.min(total, at + 1_000_003));
      };
      assert.deepEqual(await storage.put("big/blob.bin", Readable.from(chunks())), { key: "big/blob.bin", size: total, sha256: sha256(body) });
      assert.equal((await storage.stat("big/blob.bin"))?.size, total);
      assert.equal(sha256(await storage.getBuffer("big/blob.bin")), sha256(body));
      assert.equal(sha256(await readAll(await storage.get("big/blob.bin"))), sha256(body));
      assert.equal(sha256(await download(await storage.downloadUrl("big/blob.bin"))), sha256(body));
      if (partsOf) assert.equal(await partsOf("big/blob.bin"), 3, "two full parts and the rest");

      // A Buffer over the part size goes in parts too; one that fits, in one request.
      const exact = body.subarray(0, partSize);
      await storage.put("big/exact.bin", exact);
      if (partsOf) assert.equal(await partsOf("big/exact.bin"), 1);
      assert.equal(sha256(await storage.getBuffer("big/exact.bin")), sha256(exact));
      const over = body.subarray(0, partSize + 1);
      await storage.put("big/over.bin", over);
      if (partsOf) assert.equal(await partsOf("big/over.bin"), 2);
      assert.equal(sha256(await storage.getBuffer("big/over.bin")), sha256(over));

      // The writer's spooled object goes in parts too.
      const w = await storage.writer("big/log.txt");
      for (const c of chunks()) await w.write(c);
      assert.deepEqual(await w.finish(), { key: "big/log.txt", size: total, sha256: sha256(body) });
      if (partsOf) assert.equal(await partsOf("big/log.txt"), 3);
      assert.equal(sha256(await storage.getBuffer("big/log.txt")), sha256(body));
    });
  }
}
