import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { lstat, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ZipFile } from "yazl";
import { compress } from "zstd-napi";
import { extractArchive } from "../../../src/builder/package/extract.ts";
import { InfraError, InputError } from "../../../src/errors.ts";
import { archiveStream, packageEntries, tarStream, writeHashed } from "../../fixtures/conda-package.ts";
import type { PackageFormat, TarEntry, TarHeader } from "../../fixtures/conda-package.ts";
import { hostileArchive } from "../../fixtures/hostile-archive.ts";
import type { HostileKind } from "../../fixtures/hostile-archive.ts";
import { listing, normaliseModes, patchZip, referenceExtract, tempDir } from "./helpers.ts";

const tmp = tempDir("condaops-extract-");
mkdirSync(join(tmp, "custom"));
const REALWORLD = "/work/shared/realworld/conda-forge-subset/linux-64";
const FORMATS: PackageFormat[] = ["tar.bz2", "conda"];
let seq = 0;
const dest = (): string => join(tmp, "out", `d${seq++}`);

const MTIME = new Date(Date.UTC(2023, 0, 1));
const head = (name: string, extra: Partial<TarHeader> = {}): TarHeader => ({ name, mode: 0o644, mtime: MTIME, uid: 0, gid: 0, uname: "", gname: "", type: "file", ...extra });
const file = (name: string, text: string, mode = 0o644): TarEntry => ({ header: head(name, { size: Buffer.byteLength(text), mode }), body: Buffer.from(text) });
const symlink = (name: string, target: string): TarEntry => ({ header: head(name, { type: "symlink", linkname: target, mode: 0o777 }) });
const hardlink = (name: string, target: string): TarEntry => ({ header: head(name, { type: "link", linkname: target }) });

/** A package `<name>-1.0-0.<format>` with a harmless info/ and the given payload. */
async function custom(name: string, pkg: TarEntry[], format: PackageFormat): Promise<string> {
  const { info } = packageEntries({ name, version: "1.0", build: "0", subdir: "noarch" }, "0");
  const path = join(tmp, "custom", `${name}-1.0-0.${format}`);
  await writeHashed(await archiveStream(`${name}-1.0-0`, info, pkg, format), path);
  return path;
}

/** A `.conda` zip of the given members (zstd tars or raw bytes). */
async function condaZip(name: string, members: { name: string; data: Buffer; deflate?: boolean }[]): Promise<string> {
  const zip = new ZipFile();
  for (const m of members) zip.addBuffer(m.data, m.name, { compress: m.deflate ?? false, mtime: MTIME });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream as AsyncIterable<Buffer>) chunks.push(c);
  const path = join(tmp, "custom", `${name}-1.0-0.conda`);
  await writeFile(path, Buffer.concat(chunks));
  return path;
}
const zst = async (entries: TarEntry[]): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(c);
  return compress(Buffer.concat(chunks));
};
const infoZst = (): Promise<Buffer> => zst(packageEntries({ name: "z", version: "1.0", build: "0", subdir: "noarch" }, "0").info);

/** Asserts an InputError naming the archive and `entry`, and nothing left at `out`. */
async function refused(archive: string, out: string, entry: RegExp, limits = {}): Promise<InputError> {
  let caught: unknown;
  await extractArchive(archive, out, limits).then(
    () => assert.fail(`${archive} was extracted`),
    (e: unknown) => (caught = e),
  );
  assert.ok(caught instanceof InputError, `${archive}: ${String(caught)}`);
  assert.equal(caught.exitCode, 1);
  assert.ok(caught.message.includes(archive), caught.message);
  assert.match(caught.message, entry);
  assert.equal(existsSync(out), false, "nothing left behind");
  return caught;
}

const realworld = existsSync(REALWORLD) ? readdirSync(REALWORLD).filter((f) => f.endsWith(".conda") || f.endsWith(".tar.bz2")) : [];

// Compared file by file with the system tools for a sample (both formats, symlinks, names with spaces).
const COMPARED = /^(xz|_openmp_mutex|setuptools|libgcc|openssl|bzip2)-\d/;

test("real conda-forge packages all extract; a sample exactly as tar/zstd do, modes normalised", { skip: realworld.length ? false : `no real-world packages at ${REALWORLD}` }, async () => {
  for (const f of realworld) {
    const ours = dest();
    const stats = await extractArchive(join(REALWORLD, f), ours);
    assert.ok(stats.files > 0 && stats.bytes > 0, f);
    assert.ok(existsSync(join(ours, "info", "index.json")), f);
    if (!COMPARED.test(f)) continue;
    const ref = dest();
    referenceExtract(join(REALWORLD, f), ref);
    assert.deepEqual(await listing(ours), normaliseModes(await listing(ref)), f);
  }
  const xz = realworld.find((f) => f.startsWith("xz-"));
  if (xz) {
    const out = dest();
    await extractArchive(join(REALWORLD, xz), out);
    assert.equal((await stat(join(out, "bin", "xz"))).mode & 0o777, 0o755);
    assert.ok((await lstat(join(out, "bin", "unxz"))).isSymbolicLink());
  }
});

const KINDS: [HostileKind, RegExp][] = [
  ["dotdot", /"\.\.\/escape\.txt" has a "\.\." segment/],
  ["absolute", /is an absolute path/],
  ["symlink-escape", /"share\/passwd" is a symlink to "\.\.\/\.\.\/etc\/passwd", outside the package/],
  ["symlink-write-through", /"share\/up" is a symlink to "\.\.\/\.\.\/\.\.", outside the package/],
  ["hardlink-escape", /"share\/hard" is a hard link to "\.\.\/\.\.\/etc\/passwd", outside the package/],
  ["device", /"share\/null" is a character-device/],
  ["duplicate", /"share\/dup\.txt" appears twice/],
  ["bomb", /"share\/zeros\.bin" unpacks to more than/],
  ["truncated", /truncated|does not unpack|cannot decompress|not a readable/],
];

for (const format of FORMATS) {
  test(`hostile ${format}: every kind is refused, naming the entry, and nothing is written anywhere`, async () => {
    const absolutePath = join(tmp, `absolute-${format}.txt`);
    for (const [kind, entry] of KINDS) {
      const built = await hostileArchive(kind, join(tmp, "hostile", format), { format, bombBytes: 64 << 20, absolutePath });
      const out = join(tmp, "hostile-out", format, kind);
      const e = await refused(built.path, out, entry);
      assert.ok(e.code.startsWith("package."), e.code);
    }
    assert.equal(existsSync(absolutePath), false);
    assert.equal(existsSync(join(tmp, "hostile-out", format, "escape.txt")), false);
    assert.deepEqual(readdirSync(join(tmp, "hostile-out", format)), []);
  });
}

test("a default-size bomb (1 GiB of zeros in 33 KiB) fails fast with the default limits", async () => {
  const built = await hostileArchive("bomb", join(tmp, "bigbomb"), { format: "conda" });
  const started = Date.now();
  await refused(built.path, dest(), /unpacks to more than .*1000:1 ratio/);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
});

for (const format of FORMATS) {
  test(`${format}: a symlink that escapes through another symlink is refused, whatever the order`, async () => {
    // Lexically a -> sub/.. stays inside; but sub -> . makes it lead to the package's parent.
    const p = await custom(`chain-${format.replace(".", "")}`, [symlink("a", "sub/.."), symlink("sub", ".")], format);
    await refused(p, dest(), /"a" is a symlink to "sub\/\.\.", which leads outside the package through other symlinks/);
  });

  test(`${format}: links inside the package are kept; hard links must name an earlier file`, async () => {
    const p = await custom(`links-${format.replace(".", "")}`, [
      file("lib/libx.so.1", "x"),
      symlink("lib/libx.so", "libx.so.1"),
      symlink("lib/dangling", "../share/not-there"),
      hardlink("lib/libx-hard.so.1", "lib/libx.so.1"),
    ], format);
    const out = dest();
    const stats = await extractArchive(p, out);
    assert.deepEqual({ files: stats.files, symlinks: stats.symlinks, hardlinks: stats.hardlinks }, { files: 1 + 4, symlinks: 2, hardlinks: 1 }); // + info/ files
    assert.equal(await readFile(join(out, "lib", "libx.so"), "utf8"), "x");
    assert.equal((await stat(join(out, "lib", "libx-hard.so.1"))).ino, (await stat(join(out, "lib", "libx.so.1"))).ino);
    const missing = await custom(`hard-missing-${format.replace(".", "")}`, [hardlink("lib/h", "lib/nothing")], format);
    await refused(missing, dest(), /"lib\/h" is a hard link to "lib\/nothing", which is not a file earlier in the package/);
    const toLink = await custom(`hard-symlink-${format.replace(".", "")}`, [symlink("lib/s", "x"), hardlink("lib/h", "lib/s")], format);
    await refused(toLink, dest(), /"lib\/h" is a hard link to "lib\/s"/);
    const through = await custom(`through-${format.replace(".", "")}`, [symlink("lib", "share"), file("lib/x", "x")], format);
    await refused(through, dest(), /"lib\/x" would be written through the symlink "lib"/);
  });

  test(`${format}: executable bits are kept, setuid/setgid/sticky and odd modes are not`, async () => {
    const p = await custom(`modes-${format.replace(".", "")}`, [
      file("bin/suid", "#!/bin/sh\n", 0o4755),
      file("bin/sgid", "#!/bin/sh\n", 0o2775),
      file("share/private", "x", 0o600),
      file("share/sticky", "x", 0o1666),
      { header: head("share/ro-dir", { type: "directory", mode: 0o500 }) },
      file("share/ro-dir/inside", "x", 0o444),
    ], format);
    const out = dest();
    await extractArchive(p, out);
    const mode = async (rel: string): Promise<number> => (await stat(join(out, rel))).mode & 0o7777;
    assert.deepEqual(
      await Promise.all(["bin/suid", "bin/sgid", "share/private", "share/sticky", "share/ro-dir", "share/ro-dir/inside", "."].map(mode)),
      [0o755, 0o755, 0o644, 0o644, 0o755, 0o644, 0o755],
    );
  });

  test(`${format}: size limits are counted as the bytes stream, headers included`, async () => {
    const p = await custom(`many-${format.replace(".", "")}`, Array.from({ length: 100 }, (_, i) => file(`share/empty-${i}`, "")), format);
    await refused(p, dest(), /unpacks to more than 9\.8 KiB/, { maxTotalBytes: 10_000 });
    await refused(p, dest(), /more than 20 entries/, { maxEntries: 20 });
    const big = await custom(`big-${format.replace(".", "")}`, [file("share/big", "y".repeat(300_000))], format);
    await refused(big, dest(), /entry "share\/big" unpacks to more than 195\.3 KiB/, { maxTotalBytes: 200_000 });
    await extractArchive(big, dest(), { maxTotalBytes: 400_000 });
  });
}

test(".conda: only stored or deflated members, plain names, no duplicates, both tars, valid zstd", async () => {
  const info = await infoZst();
  const pkg = await zst([file("share/a", "a")]);
  const good = [
    { name: "metadata.json", data: Buffer.from('{"conda_pkg_format_version": 2}') },
    { name: "pkg-z-1.0-0.tar.zst", data: pkg },
    { name: "info-z-1.0-0.tar.zst", data: info },
  ];
  await extractArchive(await condaZip("deflated", good.map((m) => ({ ...m, deflate: true }))), dest());

  const stored = await condaZip("method", good);
  const bzipped = join(tmp, "custom", "method12-1.0-0.conda");
  await writeFile(bzipped, patchZip(await readFile(stored), "pkg-z-1.0-0.tar.zst", { method: 12 }));
  await refused(bzipped, dest(), /"pkg-z-1\.0-0\.tar\.zst" uses compression method 12/);

  const dotted = await condaZip("dotdot", [...good, { name: "AA/evil.tar.zst", data: pkg }]);
  const evil = join(tmp, "custom", "dotdotzip-1.0-0.conda");
  await writeFile(evil, patchZip(await readFile(dotted), "AA/evil.tar.zst", { rename: "../evil.tar.zst" }));
  await refused(evil, dest(), /\.\.\/evil\.tar\.zst/);

  await refused(await condaZip("dupzip", [...good, { name: "pkg-z-1.0-0.tar.zst", data: await zst([file("share/b", "b")]) }]), dest(), /zip member "pkg-z-1\.0-0\.tar\.zst" appears twice/);
  await refused(await condaZip("nopkg", good.filter((m) => !m.name.startsWith("pkg-"))), dest(), /no pkg-\*\.tar\.zst member/);
  const garbage = Buffer.concat([pkg.subarray(0, 8), Buffer.alloc(200, 0x5a)]);
  await refused(await condaZip("badzstd", [good[0], { name: "pkg-z-1.0-0.tar.zst", data: garbage }, good[2]] as typeof good), dest(), /"pkg-z-1\.0-0\.tar\.zst" does not decompress/);
  await refused(await condaZip("cutzstd", [good[0], { name: "pkg-z-1.0-0.tar.zst", data: pkg.subarray(0, pkg.length - 6) }, good[2]] as typeof good), dest(), /"pkg-z-1\.0-0\.tar\.zst" does not decompress/);
});

test("garbage and unknown formats are refused; a missing archive is an infrastructure error", async () => {
  const bz = join(tmp, "custom", "garbage-1.0-0.tar.bz2");
  await writeFile(bz, Buffer.alloc(4096, 0x41));
  await refused(bz, dest(), /bzip2 cannot decompress it/);
  const zip = join(tmp, "custom", "garbage-1.0-0.conda");
  await writeFile(zip, Buffer.alloc(4096, 0x41));
  await refused(zip, dest(), /not a readable \.conda/);
  const long = await custom("longname", [file(`share/${"n".repeat(300)}`, "x")], "conda");
  await refused(long, dest(), /an entry cannot be created \(ENAMETOOLONG/);
  await assert.rejects(extractArchive(join(tmp, "x.tar.gz"), dest()), (e: unknown) => e instanceof InputError && e.code === "package.format");
  await assert.rejects(extractArchive(join(tmp, "missing-1.0-0.conda"), dest()), (e: unknown) => e instanceof InfraError && e.exitCode === 3);
});
