// Both zstd backends (zstd-napi, fzstd) against the zstd command-line tool: the same bytes, whole
// and in pieces of any size; the same refusals (garbage, truncation, oversized windows); bounded
// memory for a 1 GiB bomb; and a .conda extracted through the real path with CONDAOPS_ZSTD=fzstd.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ZipFile } from "yazl";
import { extractArchive } from "../../../src/builder/package/extract.ts";
import { decoderFor, zstdBackend } from "../../../src/builder/package/zstd-decoder.ts";
import type { ZstdBackend, ZstdDecoder } from "../../../src/builder/package/zstd-decoder.ts";
import { CondaopsError } from "../../../src/errors.ts";
import { buildPackage } from "../../fixtures/conda-package.ts";
import { listing, tempDir } from "./helpers.ts";

const REALWORLD = "/work/shared/realworld/conda-forge-subset/linux-64";
const hasZstd = spawnSync("zstd", ["--version"]).status === 0;
const NO_ZSTD = hasZstd ? false : "the zstd command-line tool is not installed (needed to compress the test data)";
const nativeMissing = ((): string | false => {
  try {
    decoderFor("zstd-napi");
    return false;
  } catch (e) {
    return (e as Error).message;
  }
})();
const BACKENDS: ZstdBackend[] = nativeMissing ? ["fzstd"] : ["zstd-napi", "fzstd"];
const tmp = tempDir("condaops-zstd-");

/** A deterministic generator of pseudo-random numbers in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return x / 2 ** 32;
  };
}

const zstdCli = (args: string[], input: Buffer): Buffer => execFileSync("zstd", ["-q", "-c", ...args], { input, maxBuffer: 1 << 30 });

/** Real data: code and machine code, 4 MiB. */
function realData(): Buffer {
  const ts = readFileSync(createRequire(import.meta.url).resolve("typescript"));
  return Buffer.concat([ts.subarray(0, 2 << 20), readFileSync(process.execPath).subarray(0, 2 << 20)]);
}

/** A skippable frame (magic 0x184D2A5?, a length, that many bytes). */
const skippable = (payload: Buffer): Buffer => {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a53, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

/** Streams `input` in pieces from `sizes`, through one reused buffer (scribbled over after each write), collecting copies. */
function streamed(d: ZstdDecoder, input: Buffer, sizes: () => number): Buffer {
  const out: Buffer[] = [];
  const s = d.stream((c) => out.push(Buffer.from(c)));
  const scratch = Buffer.alloc(1 << 17);
  for (let off = 0; off < input.length; ) {
    const n = Math.min(sizes(), input.length - off, scratch.length);
    input.copy(scratch, 0, off, off + n);
    s.write(scratch.subarray(0, n));
    scratch.fill(0xee);
    off += n;
  }
  s.end();
  return Buffer.concat(out);
}

/** The error `fn` throws, asserted to be a plain Error (not a condaops one: extract.ts turns those into package.corrupt). */
function plainError(fn: () => unknown, what: string): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, `${what}: no error`);
  assert.ok(!(caught instanceof CondaopsError), `${what}: ${String(caught)}`);
  assert.equal(typeof (caught as NodeJS.ErrnoException).syscall, "undefined", what);
  return caught;
}

test("the backend in use: zstd-napi unless CONDAOPS_ZSTD=fzstd (or it cannot load)", () => {
  const expected: ZstdBackend = process.env.CONDAOPS_ZSTD === "fzstd" || nativeMissing ? "fzstd" : "zstd-napi";
  assert.equal(zstdBackend(), expected);
});

test("both backends decode what the zstd CLI makes, whole and in pieces of any size", { skip: NO_ZSTD }, () => {
  const data = realData();
  const level3 = zstdCli(["-3"], data);
  const variants: [string, Buffer, Buffer][] = [
    ["level 3, content size", level3, data],
    ["level 19, no checksum", zstdCli(["-19", "--no-check"], data.subarray(0, 2 << 20)), data.subarray(0, 2 << 20)],
    ["no content size", zstdCli(["-3", "--no-content-size"], data), data],
    ["long window", zstdCli(["-3", "--long=27"], data), data],
    ["several frames and skippable ones", Buffer.concat([skippable(Buffer.from("skip me")), level3, skippable(Buffer.alloc(0)), zstdCli(["-1"], Buffer.from("tail"))]), Buffer.concat([data, Buffer.from("tail")])],
    ["an empty input", zstdCli([], Buffer.alloc(0)), Buffer.alloc(0)],
    ["nothing at all", Buffer.alloc(0), Buffer.alloc(0)],
  ];
  const rand = random(7);
  for (const backend of BACKENDS) {
    const d = decoderFor(backend);
    for (const [what, zst, expected] of variants) {
      assert.ok(d.decompress(zst).equals(expected), `${backend}, ${what}, whole`);
      assert.ok(streamed(d, zst, () => zst.length).equals(expected), `${backend}, ${what}, one write`);
      assert.ok(streamed(d, zst, () => 1 + Math.floor(rand() * 40)).equals(expected), `${backend}, ${what}, tiny pieces`);
      assert.ok(streamed(d, zst, () => 1 + Math.floor(rand() ** 3 * 100_000)).equals(expected), `${backend}, ${what}, random pieces`);
    }
  }
});

test("both backends decode the zstd members of real conda-forge packages alike", { skip: existsSync(REALWORLD) ? NO_ZSTD : `no real-world packages at ${REALWORLD}` }, () => {
  const packages = readdirSync(REALWORLD).filter((f) => f.endsWith(".conda"));
  const rand = random(11);
  for (const f of packages) {
    for (const member of ["info-*.tar.zst", "pkg-*.tar.zst"]) {
      const zst = execFileSync("unzip", ["-p", join(REALWORLD, f), member], { maxBuffer: 1 << 30 });
      const expected = zstdCli(["-d"], zst);
      for (const backend of BACKENDS) {
        const d = decoderFor(backend);
        assert.ok(d.decompress(zst).equals(expected), `${backend}: ${f} ${member}`);
        assert.ok(streamed(d, zst, () => 1 + Math.floor(rand() * 300_000)).equals(expected), `${backend}: ${f} ${member}, streamed`);
      }
    }
  }
});

test("truncated input fails at end(), and whole; garbage and damaged frames fail as plain Errors", { skip: NO_ZSTD }, () => {
  const data = realData().subarray(0, 1 << 20);
  const zst = zstdCli(["-3"], data);
  const rand = random(3);
  const damaged = Buffer.from(zst);
  for (let i = 40; i < damaged.length; i += 997) damaged[i] = Math.floor(rand() * 256);
  for (const backend of BACKENDS) {
    const d = decoderFor(backend);
    for (const cut of [1, 4, 5, 100, zst.length >> 1, zst.length - 6, zst.length - 9]) {
      const short = zst.subarray(0, zst.length - cut);
      const s = d.stream(() => undefined);
      s.write(short);
      assert.match(plainError(() => s.end(), `${backend} cut ${cut}`).message, /ends in the middle of a frame/);
      plainError(() => d.decompress(short), `${backend} whole, cut ${cut}`);
    }
    const garbage = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rand() * 256)));
    assert.match(plainError(() => d.stream(() => undefined).write(garbage), `${backend} garbage`).message, /Unknown frame descriptor/);
    plainError(() => d.decompress(garbage), `${backend} whole garbage`);
    plainError(() => {
      const s = d.stream(() => undefined);
      s.write(damaged);
      s.end();
    }, `${backend} damaged`);
    plainError(() => d.decompress(damaged), `${backend} whole damaged`);
  }
});

test("both backends refuse windows over 128 MiB and dictionaries before allocating anything", () => {
  const frame = (fhd: number, rest: number[]): Buffer => Buffer.from([0x28, 0xb5, 0x2f, 0xfd, fhd, ...rest, 0x01, 0x00, 0x00]);
  const cases: [string, Buffer, RegExp][] = [
    ["a 2 GiB window", frame(0x00, [21 << 3]), /too much memory/],
    ["a 256 MiB window", frame(0x00, [18 << 3]), /too much memory/],
    ["a single segment of 1 GiB", frame(0xa0, [0x00, 0x00, 0x00, 0x40]), /too much memory/],
    ["a dictionary", frame(0x01, [10 << 3, 7]), /Dictionary mismatch/],
    ["the reserved bit", frame(0x08, [10 << 3]), /Unsupported frame parameter/],
  ];
  for (const backend of BACKENDS) {
    const d = decoderFor(backend);
    for (const [what, bytes, message] of cases) {
      assert.match(plainError(() => d.stream(() => undefined).write(bytes), `${backend}: ${what}`).message, message, `${backend}: ${what}`);
    }
    // 128 MiB itself is allowed (an empty frame).
    const s = d.stream(() => undefined);
    s.write(frame(0x00, [17 << 3]));
    s.end();
  }
});

test("an error thrown by the sink passes through untouched", { skip: NO_ZSTD }, () => {
  const zst = zstdCli(["-3"], realData().subarray(0, 1 << 20));
  for (const backend of BACKENDS) {
    const mine = new Error("over budget");
    let calls = 0;
    const s = decoderFor(backend).stream(() => {
      if (++calls === 2) throw mine;
    });
    assert.throws(() => s.write(zst), (e) => e === mine, backend);
  }
});

test("a 1 GiB bomb streams through each backend in bounded memory, never held whole", { skip: NO_ZSTD }, () => {
  const bomb = execFileSync("sh", ["-c", "head -c 1073741824 /dev/zero | zstd -q -c"], { maxBuffer: 1 << 24 });
  assert.ok(bomb.length < 1 << 20, `${bomb.length} bytes`);
  for (const backend of BACKENDS) {
    const before = process.memoryUsage.rss();
    let peak = before;
    let bytes = 0;
    let pieces = 0;
    let biggest = 0;
    const s = decoderFor(backend).stream((c) => {
      bytes += c.length;
      biggest = Math.max(biggest, c.length);
      if ((++pieces & 63) === 0) peak = Math.max(peak, process.memoryUsage.rss());
    });
    for (let off = 0; off < bomb.length; off += 4096) s.write(bomb.subarray(off, off + 4096));
    s.end();
    assert.equal(bytes, 2 ** 30, backend);
    assert.ok(biggest <= 1 << 17, `${backend}: pieces of up to ${biggest} bytes`);
    const growth = (peak - before) / 2 ** 20;
    assert.ok(growth < 200, `${backend}: RSS grew by ${growth.toFixed(0)} MB`);
  }
});

test(".conda packages extract through the real path with CONDAOPS_ZSTD=fzstd, as with zstd-napi; damage is package.corrupt", async () => {
  const files = Array.from({ length: 40 }, (_, i) => ({ path: `lib/m${i}.py`, content: `# module ${i}\n${"x = 1\n".repeat(i * 500)}` }));
  const built = await buildPackage({ name: "zfix", version: "1.0", subdir: "noarch", files, softlinks: [{ path: "lib/link.py", target: "m1.py" }] }, join(tmp, "pkgs"), "conda");
  // The same package with its pkg member cut short: the zstd frame ends mid-way.
  const stem = built.filename.replace(/\.conda$/, "");
  const zip = new ZipFile();
  for (const m of ["metadata.json", `info-${stem}.tar.zst`, `pkg-${stem}.tar.zst`]) {
    const data = execFileSync("unzip", ["-p", built.path, m]);
    zip.addBuffer(m.startsWith("pkg-") ? data.subarray(0, data.length - 6) : data, m, { compress: false });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const cutPath = join(tmp, "pkgs", `${stem}.cut.conda`);
  writeFileSync(cutPath, Buffer.concat(chunks));

  const native = join(tmp, "native");
  const nativeStats = await extractArchive(built.path, native);
  const src = (p: string): string => JSON.stringify(pathToFileURL(fileURLToPath(new URL(p, import.meta.url))).href);
  const script = `
    import { extractArchive } from ${src("../../../src/builder/package/extract.ts")};
    import { zstdBackend } from ${src("../../../src/builder/package/zstd-decoder.ts")};
    const out = [];
    for (const [archive, dest] of JSON.parse(process.argv[1])) {
      try { out.push({ stats: await extractArchive(archive, dest) }); } catch (e) { out.push({ error: e.code + ": " + e.message }); }
    }
    process.stdout.write(JSON.stringify({ backend: zstdBackend(), out }));`;
  const jobs = [
    [built.path, join(tmp, "fzstd")],
    [cutPath, join(tmp, "fzstd-cut")],
  ];
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, JSON.stringify(jobs)], { env: { ...process.env, CONDAOPS_ZSTD: "fzstd" }, encoding: "utf8" });
  assert.equal(child.status, 0, child.stderr);
  const result = JSON.parse(child.stdout) as { backend: string; out: { stats?: unknown; error?: string }[] };
  assert.equal(result.backend, "fzstd");
  assert.deepEqual(result.out[0]?.stats, nativeStats, JSON.stringify(result.out[0]));
  assert.deepEqual(await listing(join(tmp, "fzstd")), await listing(native));
  assert.match(result.out[1]?.error ?? "no error", /^package\.corrupt: .*"pkg-zfix-1\.0-[^"]+\.tar\.zst" does not decompress \(the zstd stream ends in the middle of a frame\)/);
  assert.equal(existsSync(join(tmp, "fzstd-cut")), false);
});
