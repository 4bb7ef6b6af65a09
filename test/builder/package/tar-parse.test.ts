// The synchronous tar reader against tar-stream (the reader it replaces on the hot path): the same
// members, names, types, sizes, link names and bodies for real conda-forge packages and for crafted
// archives (pax and GNU long names, global pax headers, base-256 sizes, old-style folders, unknown
// typeflags), whatever the chunking; and the same refusals of damaged streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { extract as tarExtract, pack } from "tar-stream";
import type { Header as PackHeader } from "tar-stream";
import { decompress } from "zstd-napi";
import { TarParser } from "../../../src/builder/package/tar-parse.ts";
import type { TarMember } from "../../../src/builder/package/tar-parse.ts";

const REALWORLD = "/work/shared/realworld/conda-forge-subset/linux-64";

interface Seen {
  name: string;
  type: string | null;
  size: number;
  mode: number;
  linkname: string | null;
  body: string;
}

/** What our reader makes of `tar`, fed in pieces of `chunk` bytes (bodies hashed). */
function ours(tar: Buffer, chunk = tar.length): Seen[] {
  const out: Seen[] = [];
  let current: { m: TarMember; h: ReturnType<typeof createHash> } | undefined;
  const parser = new TarParser({
    entry(m) {
      current = { m, h: createHash("sha256") };
      out.push({ name: m.name, type: m.type, size: m.size, mode: m.mode, linkname: m.linkname, body: "" });
      return true;
    },
    data(c) {
      current?.h.update(c);
    },
    end() {
      (out[out.length - 1] as Seen).body = (current as { h: ReturnType<typeof createHash> }).h.digest("hex");
    },
  });
  // Reuse one buffer for every piece: the reader must not keep what it was given.
  const scratch = Buffer.alloc(Math.max(1, chunk));
  for (let off = 0; off < tar.length; off += chunk) {
    const n = Math.min(chunk, tar.length - off);
    tar.copy(scratch, 0, off, off + n);
    parser.write(scratch.subarray(0, n));
    scratch.fill(0xee);
  }
  parser.end();
  return out;
}

/** What tar-stream makes of it. */
async function reference(tar: Buffer): Promise<Seen[]> {
  const out: Seen[] = [];
  const ex = tarExtract();
  ex.on("entry", (header, stream, next) => {
    const h = createHash("sha256");
    stream.on("error", () => undefined); // the extractor reports it
    stream.on("data", (c) => void h.update(c as Buffer));
    stream.on("end", () => {
      out.push({ name: header.name, type: header.type ?? null, size: header.size ?? 0, mode: header.mode ?? 0, linkname: header.linkname ?? null, body: h.digest("hex") });
      next();
    });
    stream.resume();
  });
  await pipeline(Readable.from([tar]), ex);
  return out;
}

async function packTar(entries: { header: Partial<PackHeader> & Pick<PackHeader, "name">; body?: string | Buffer }[]): Promise<Buffer> {
  const p = pack();
  for (const e of entries) p.entry(e.header as PackHeader, e.body ?? "");
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A raw 512-byte header: ustar (or GNU, or no magic), checksum filled in. */
function rawHeader(o: { name: string; typeflag?: string; size?: number | Buffer; linkname?: string; magic?: "ustar" | "gnu" | "none"; mode?: number }): Buffer {
  const b = Buffer.alloc(512);
  b.write(o.name, 0, 100, "utf8");
  b.write(`${(o.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100, "latin1");
  b.write("0000000\0", 108, "latin1");
  b.write("0000000\0", 116, "latin1");
  if (Buffer.isBuffer(o.size)) o.size.copy(b, 124);
  else b.write(`${(o.size ?? 0).toString(8).padStart(11, "0")}\0`, 124, "latin1");
  b.write("00000000000\0", 136, "latin1");
  b.write(o.typeflag ?? "0", 156, "latin1");
  if (o.linkname) b.write(o.linkname, 157, 100, "utf8");
  if ((o.magic ?? "ustar") === "ustar") b.write("ustar\x0000", 257, "latin1");
  else if (o.magic === "gnu") b.write("ustar  \0", 257, "latin1");
  b.fill(32, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}
const body = (data: string | Buffer): Buffer => {
  const d = Buffer.from(data);
  return Buffer.concat([d, Buffer.alloc((512 - (d.length % 512)) % 512)]);
};
const pax = (records: Record<string, string>): Buffer => {
  let s = "";
  for (const [k, v] of Object.entries(records)) {
    const rec = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rec) + 1;
    while (Buffer.byteLength(`${len}${rec}`) !== len) len++;
    s += `${len}${rec}`;
  }
  return Buffer.from(s);
};
const EOF = Buffer.alloc(1024);

async function same(tar: Buffer, what: string): Promise<void> {
  const ref = await reference(tar);
  for (const chunk of [tar.length, 4096, 511, 7, 1]) assert.deepEqual(ours(tar, chunk), ref, `${what}, in pieces of ${chunk}`);
}

const realworld = existsSync(REALWORLD) ? readdirSync(REALWORLD).filter((f) => f.endsWith(".conda") || f.endsWith(".tar.bz2")) : [];

test("real conda-forge packages read exactly as tar-stream reads them", { skip: realworld.length ? false : `no real-world packages at ${REALWORLD}` }, async () => {
  for (const f of realworld) {
    const path = `${REALWORLD}/${f}`;
    const tars = f.endsWith(".tar.bz2")
      ? [execFileSync("bzip2", ["-dc", path], { maxBuffer: 1 << 30 })]
      : ["info", "pkg"].map((m) => decompress(execFileSync("unzip", ["-p", path, `${m}-*.tar.zst`], { maxBuffer: 1 << 30 })));
    for (const tar of tars) {
      const ref = await reference(tar);
      assert.deepEqual(ours(tar), ref, f);
      assert.deepEqual(ours(tar, 1000), ref, `${f} in pieces`);
    }
  }
});

test("pax and GNU long names, link names, global pax headers, old folders, unknown types", async () => {
  const long = `lib/${"d".repeat(120)}/${"f".repeat(140)}.py`;
  await same(
    await packTar([
      { header: { name: "bin", type: "directory", mode: 0o755 } },
      { header: { name: "bin/tool", mode: 0o755 }, body: "#!/bin/sh\necho hi\n" },
      { header: { name: long, mode: 0o644 }, body: "x".repeat(1500) },
      { header: { name: "lib/libx.so", type: "symlink", linkname: `${"t".repeat(150)}.so.1` } },
      { header: { name: "lib/hard", type: "link", linkname: "bin/tool" } },
      { header: { name: "share/empty", mode: 0o600 }, body: "" },
      { header: { name: "share/exact", mode: 0o644 }, body: "y".repeat(1024) },
    ]),
    "tar-stream pack with pax headers",
  );
  const crafted = Buffer.concat([
    rawHeader({ name: "././@LongLink", typeflag: "L", size: 301, magic: "gnu" }),
    body(`${"g".repeat(300)}\0`),
    rawHeader({ name: "short", size: 3, magic: "gnu" }),
    body("abc"),
    rawHeader({ name: "././@LongLink", typeflag: "K", size: 201, magic: "gnu" }),
    body(`${"k".repeat(200)}\0`),
    rawHeader({ name: "a-link", typeflag: "2", linkname: "short", magic: "gnu" }),
    rawHeader({ name: "pax_global_header", typeflag: "g", size: pax({ comment: "global", path: "ignored-alone" }).length }),
    body(pax({ comment: "global", path: "ignored-alone" })),
    rawHeader({ name: "plain-after-global", size: 1 }),
    body("p"),
    rawHeader({ name: "PaxHeader/x", typeflag: "x", size: pax({ path: "from/pax/héllo.txt", size: "5" }).length }),
    body(pax({ path: "from/pax/héllo.txt", size: "5" })),
    rawHeader({ name: "short-name", size: 0 }),
    body("hello"),
    rawHeader({ name: "base256", size: Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x01]) }),
    body("z".repeat(0x201)),
    rawHeader({ name: "sparse-ish", typeflag: "S", size: 2 }),
    body("sp"),
    rawHeader({ name: "fifo", typeflag: "6" }),
    EOF,
  ]);
  await same(crafted, "crafted GNU/pax/base-256 archive");
  const names = ours(crafted).map((m) => `${m.name} ${m.type} ${m.size}`);
  assert.deepEqual(names, [
    `${"g".repeat(300)} file 3`,
    `a-link symlink 0`,
    "plain-after-global file 1",
    "from/pax/héllo.txt file 5",
    "base256 file 513",
    "sparse-ish null 2",
    "fifo fifo 0",
  ]);
  assert.equal(ours(crafted).find((m) => m.name === "a-link")?.linkname, "k".repeat(200));
  // A v7-style folder (typeflag NUL, trailing slash) is a folder, as tar reads it; tar-stream
  // meant to do the same, but its conversion never reaches the type it reports ("file").
  const oldDir = Buffer.concat([rawHeader({ name: "old-style-dir/", typeflag: "\0" }), EOF]);
  assert.deepEqual(ours(oldDir).map((m) => `${m.name} ${m.type}`), ["old-style-dir/ directory"]);
});

test("damaged streams are refused as tar-stream refuses them", async () => {
  const good = Buffer.concat([rawHeader({ name: "a", size: 700 }), body("a".repeat(700)), EOF]);
  const cases: [string, Buffer, RegExp][] = [
    ["cut in a body", good.subarray(0, 600), /Unexpected end of data/],
    ["cut in the padding", good.subarray(0, 512 + 700 + 10), /Unexpected end of data/],
    ["cut in a header", good.subarray(0, 100), /Unexpected end of data/],
    ["a bad checksum", Buffer.concat([Buffer.from(good.subarray(0, 512)).fill(0x31, 0, 1), good.subarray(512)]), /Invalid tar header/],
    ["no ustar magic (v7)", Buffer.concat([rawHeader({ name: "v7", size: 0, magic: "none" }), EOF]), /unknown format/],
    ["garbage", Buffer.alloc(2048, 0x41), /Invalid tar header/],
    ["a long name over 4 MiB", Buffer.concat([rawHeader({ name: "././@LongLink", typeflag: "L", size: 5 * 1024 * 1024, magic: "gnu" }), EOF]), /Header exceeds max size/],
    ["a negative base-256 size", Buffer.concat([rawHeader({ name: "neg", size: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]) }), EOF]), /Invalid header/],
  ];
  for (const [what, tar, message] of cases) {
    assert.throws(() => ours(tar), message, what);
    await assert.rejects(reference(tar), (e: unknown) => e instanceof Error, `tar-stream refuses ${what} too`);
  }
  // Only zero blocks, or nothing at all: an empty archive.
  assert.deepEqual(ours(EOF), []);
  assert.deepEqual(ours(Buffer.alloc(0)), []);
});

test("a sink that wants no body is not handed one; a throwing sink stops the reader", () => {
  const tar = Buffer.concat([rawHeader({ name: "a", size: 3 }), body("abc"), rawHeader({ name: "b", size: 2 }), body("de"), EOF]);
  const got: string[] = [];
  const p = new TarParser({ entry: (m) => (got.push(m.name), m.name === "b"), data: (c) => got.push(`data ${c.toString()}`), end: () => got.push("end") });
  p.write(tar);
  p.end();
  assert.deepEqual(got, ["a", "b", "data de", "end"]);
  const refusing = new TarParser({
    entry: (m) => {
      if (m.name === "b") throw new Error("refused b");
      return true;
    },
    data: () => undefined,
    end: () => undefined,
  });
  assert.throws(() => refusing.write(tar), /refused b/);
});
