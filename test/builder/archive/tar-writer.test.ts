// The tar writer of the pack and the OCI image: what the system tar and tar-stream's reader make
// of it (names ustar cannot hold, link targets, modes, times, owners, sizes past 8 GiB), the same
// bytes for the same entries, backpressure, and failures of the input, of `fill` and of the output.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { extract } from "tar-stream";
import type { Header } from "tar-stream";
import { fileChunks, writeTar } from "../../../src/builder/archive/tar-writer.ts";
import type { TarWriter } from "../../../src/builder/archive/tar-writer.ts";
import { InfraError } from "../../../src/errors.ts";

async function withWork(fn: (work: string) => Promise<void>): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "condaops-tar-"));
  try {
    await fn(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The archive's bytes, in memory. */
async function tarBytes(fill: (t: TarWriter) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await writeTar([out], fill);
  return Buffer.concat(chunks);
}

/** Every entry as tar-stream's reader sees it. */
async function readBack(tar: Buffer): Promise<{ header: Header; data: Buffer }[]> {
  const out: { header: Header; data: Buffer }[] = [];
  const x = extract();
  Readable.from([tar]).pipe(x);
  for await (const entry of x) {
    const parts: Buffer[] = [];
    for await (const c of entry) parts.push(c as Buffer);
    out.push({ header: entry.header, data: Buffer.concat(parts) });
  }
  return out;
}

/** `data` in chunks of `size` bytes. */
function* chunked(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

test("long, non-ASCII and odd names, long link targets and chunked files extract with the system tar", async () => {
  await withWork(async (work) => {
    const deep = `${"d".repeat(90)}/${"e".repeat(90)}`;
    const names = [
      "plain.txt",
      `${deep}/split-into-ustar-prefix.txt`, // fits ustar's prefix + name
      `${"x".repeat(120)}.txt`, // no slash to split at: pax
      `${deep}/${"f".repeat(90)}/${"g".repeat(90)}.txt`, // over 255: pax
      "ünïcödé/naïve.txt",
      "new\nline.txt",
      "quote's \"and\" $dollar.txt",
    ];
    const tarPath = join(work, "t.tar");
    const big = Buffer.alloc(3 * 65536 + 17, 7);
    await writeTar([createWriteStream(tarPath)], async (t) => {
      const mtime = 1_700_000_000;
      await t.directory({ path: deep.split("/")[0] as string, mode: 0o755, mtime });
      for (const n of names) await t.file({ path: n, mode: 0o640, mtime }, Buffer.from(`content of ${n}`));
      await t.symlink({ path: "link", mode: 0o777, mtime }, `${"../".repeat(2)}${"t".repeat(150)}`);
      await t.symlink({ path: "short-unicode-link", mode: 0o777, mtime }, "zü/tab\there");
      await t.fileFrom({ path: "big.bin", mode: 0o755, mtime }, big.length, chunked(big, 65536));
    });
    assert.equal((await stat(tarPath)).size % 512, 0);
    const dir = join(work, "x");
    execFileSync("mkdir", [dir]);
    execFileSync("tar", ["-xf", tarPath, "-C", dir]);
    for (const n of names) assert.equal(await readFile(join(dir, n), "utf8"), `content of ${n}`, JSON.stringify(n));
    assert.equal((await stat(join(dir, names[0] as string))).mode & 0o777, 0o640);
    assert.equal(await readlink(join(dir, "link")), `../../${"t".repeat(150)}`);
    assert.equal(await readlink(join(dir, "short-unicode-link")), "zü/tab\there");
    assert.deepEqual(await readFile(join(dir, "big.bin")), big);
    const listing = execFileSync("tar", ["--numeric-owner", "--utc", "-tvf", tarPath], { encoding: "utf8" });
    for (const line of listing.trim().split("\n")) if (!line.startsWith(" ")) assert.match(line, / 0\/0 .* 2023-11-14 22:13 /, line);

    // Names and link targets that are not printable ASCII go in pax records, not raw in ustar fields.
    const entries = await readBack(await readFile(tarPath));
    const paxOf = (name: string) => entries.find((e) => e.header.name === name)?.header.pax as Record<string, string> | null | undefined;
    assert.equal(paxOf("new\nline.txt")?.path, "new\nline.txt");
    assert.equal(paxOf("short-unicode-link")?.linkpath, "zü/tab\there");
    assert.equal(paxOf("plain.txt"), null, "plain names need no pax header");
  });
});

test("headers hold only the entry: mtime 0 unless given, owner 0:0 without names, modes as given (0 too)", async () => {
  const tar = await tarBytes(async (t) => {
    await t.directory({ path: "opt", mode: 0o755 });
    await t.directory({ path: "opt/locked", mode: 0 });
    await t.file({ path: "opt/locked/secret", mode: 0 }, Buffer.from("x"));
    await t.file({ path: "opt/setuid", mode: 0o4755 | 0o100000, mtime: 1_717_243_200 }, Buffer.alloc(0));
    await t.symlink({ path: "opt/link", mode: 0o777 }, "setuid");
    await t.fileFrom({ path: "opt/empty", mode: 0o644 }, 0, []);
  });
  const entries = await readBack(tar);
  assert.deepEqual(
    entries.map((e) => [e.header.name, e.header.type, e.header.mode, e.header.mtime.getTime() / 1000, e.header.size]),
    [
      ["opt/", "directory", 0o755, 0, 0],
      ["opt/locked/", "directory", 0, 0, 0],
      ["opt/locked/secret", "file", 0, 0, 1],
      ["opt/setuid", "file", 0o4755, 1_717_243_200, 0],
      ["opt/link", "symlink", 0o777, 0, 0],
      ["opt/empty", "file", 0o644, 0, 0],
    ],
  );
  for (const { header } of entries) {
    assert.deepEqual([header.uid, header.gid, header.uname, header.gname, header.devmajor, header.devminor], [0, 0, "", "", 0, 0], header.name);
  }
  assert.equal(entries[4]?.header.linkname, "setuid");
  assert.equal(entries[2]?.data.toString(), "x");
});

test("the same entries give the same bytes", async () => {
  const fill = async (t: TarWriter): Promise<void> => {
    await t.directory({ path: "a", mode: 0o755, mtime: 1_600_000_000 });
    await t.file({ path: `a/${"n".repeat(200)}`, mode: 0o644, mtime: 1_600_000_000 }, Buffer.from("one"));
    await t.fileFrom({ path: "a/ü", mode: 0o600 }, 300_000, chunked(Buffer.alloc(300_000, 3), 4096));
    await t.symlink({ path: "a/l", mode: 0o777 }, "ü");
  };
  const first = await tarBytes(fill);
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await tarBytes(fill), first);
});

test("mtimes past 2038 are carried by pax; negative ones are written as 0", async () => {
  await withWork(async (work) => {
    const tarPath = join(work, "t.tar");
    const late = 2 ** 31 + 86_400; // 2038-01-20 03:14:07 UTC
    await writeTar([createWriteStream(tarPath)], async (t) => {
      await t.file({ path: "late", mode: 0o644, mtime: late }, Buffer.from("later"));
      await t.file({ path: "early", mode: 0o644, mtime: -5 }, Buffer.from("before"));
    });
    const listing = execFileSync("tar", ["--numeric-owner", "--utc", "--full-time", "-tvf", tarPath], { encoding: "utf8" }).trim().split("\n");
    assert.match(listing[0] ?? "", / 2038-01-20 03:14:08 late$/);
    assert.match(listing[1] ?? "", / 1970-01-01 00:00:00 early$/);
    const entries = await readBack(await readFile(tarPath));
    assert.equal((entries[0]?.header.pax as Record<string, string> | null | undefined)?.mtime, String(late));
  });
});

test("a file of 8 GiB and more gets a base-256 size and a pax size record", async () => {
  const size = 2 ** 33 + 1;
  const zeros = Buffer.alloc(64 << 20);
  let total = 0;
  const head: Buffer[] = [];
  let headBytes = 0;
  const out = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, cb) {
      if (headBytes < 1536) {
        head.push(chunk.subarray(0, 1536 - headBytes));
        headBytes += Math.min(chunk.length, 1536 - headBytes);
      }
      total += chunk.length;
      cb();
    },
  });
  await writeTar([out], async (t) => {
    await t.fileFrom(
      { path: "huge", mode: 0o644 },
      size,
      (function* () {
        for (let left = size; left > 0; left -= zeros.length) yield left >= zeros.length ? zeros : zeros.subarray(0, left);
      })(),
    );
  });
  const h = Buffer.concat(head);
  assert.equal(String.fromCharCode(h[156] ?? 0), "x", "a pax header first");
  assert.match(h.subarray(512, 1024).toString(), /\d+ size=8589934593\n/);
  const field = h.subarray(1024 + 124, 1024 + 136);
  assert.equal(field[0], 0x80, "base-256 size field");
  assert.equal(field.subarray(1).reduce((n, b) => n * 256 + b, 0), size);
  assert.equal(total, 1536 + Math.ceil(size / 512) * 512 + 1024);
});

test("a file's chunks are read only as fast as the output takes them", async () => {
  const MiB = 1 << 20;
  let pulled = 0;
  let taken = 0;
  let ahead = 0;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      taken += chunk.length;
      setTimeout(cb, 1);
    },
  });
  await writeTar([out], async (t) => {
    await t.fileFrom(
      { path: "f", mode: 0o644 },
      64 * MiB,
      (function* () {
        for (let i = 0; i < 64; i++) {
          ahead = Math.max(ahead, pulled - taken);
          pulled += MiB;
          yield Buffer.alloc(MiB, i);
        }
      })(),
    );
  });
  assert.ok(ahead <= 8 * MiB, `${ahead / MiB} MiB read ahead of the output`);
});

test("fileChunks reads a file in chunks; a file that does not deliver its size fails the archive", async () => {
  await withWork(async (work) => {
    const path = join(work, "data");
    const data = Buffer.alloc((1 << 20) * 2 + 5, 1);
    await writeFile(path, data);
    const chunks = [...fileChunks(path, data.length)];
    assert.deepEqual(chunks.map((c) => c.length), [1 << 20, 1 << 20, 5]);
    assert.deepEqual(Buffer.concat(chunks), data);
    assert.deepEqual([...fileChunks(path, 3)], [data.subarray(0, 3)]);
    assert.deepEqual([...fileChunks(join(work, "missing"), 0)], [], "nothing opened for an empty file");

    await assert.rejects(
      writeTar([createWriteStream(join(work, "t.tar"))], (t) => t.fileFrom({ path: "short", mode: 0o644 }, data.length + 10, fileChunks(path, data.length + 10))),
      (e: unknown) => e instanceof InfraError && e.code === "archive.file-changed" && e.message === `short changed while it was archived (${data.length} bytes read, ${data.length + 10} expected)`,
    );
    // Bytes past the size are left out.
    const tar = await tarBytes((t) => t.fileFrom({ path: "cut", mode: 0o644 }, 3, chunked(Buffer.from("abcdef"), 2)));
    assert.equal((await readBack(tar))[0]?.data.toString(), "abc");
  });
});

test("a failure of fill or of the output rejects with that failure once the streams are down", async () => {
  const sink = () =>
    new Writable({
      write(_chunk: Buffer, _enc, cb) {
        cb();
      },
    });
  const own = new Error("fill failed");
  await assert.rejects(
    writeTar([sink()], async (t) => {
      await t.file({ path: "a", mode: 0o644 }, Buffer.from("a"));
      throw own;
    }),
    (e: unknown) => e === own,
  );

  // A file stream still opening when fill fails has closed (and created its file) by the time
  // writeTar rejects, so the caller's clean-up comes after it.
  await withWork(async (work) => {
    const file = createWriteStream(join(work, "partial.tar"));
    await assert.rejects(
      writeTar([file], () => Promise.reject(own)),
      (e: unknown) => e === own,
    );
    assert.equal(file.closed, true);
    await rm(join(work, "partial.tar"));
  });

  const disk = new Error("no space left");
  let writes = 0;
  const failing = new Writable({
    highWaterMark: 1024,
    write(_chunk: Buffer, _enc, cb) {
      cb(++writes === 2 ? disk : null);
    },
  });
  await assert.rejects(
    writeTar([failing], async (t) => {
      // Far more than the output's buffers hold: fill waits on backpressure when the output fails.
      for (let i = 0; i < 64; i++) await t.file({ path: `f${i}`, mode: 0o644 }, Buffer.alloc(1 << 20));
    }),
    (e: unknown) => e === disk,
  );
});
