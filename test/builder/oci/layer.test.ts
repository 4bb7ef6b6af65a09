// The environment layer: moved to /opt/conda/envs/<name> (text and binary placeholders, entry
// points, absolute symlinks, conda-meta), reproducible (two installs in different folders give
// the same bytes), binaries rewritten from the package cache's originals (so a short build
// prefix does not limit the image's), and refusing a binary it cannot patch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { writeEnvironmentLayer } from "../../../src/builder/oci/layer.ts";
import { InputError } from "../../../src/errors.ts";
import { makePrefix, readTar, PLACEHOLDER_LENGTH } from "./helpers.ts";

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-oci-layer-"));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const TARGET = "/opt/conda/envs/demo";
const sha = (b: Buffer | undefined): string => createHash("sha256").update(b ?? Buffer.alloc(0)).digest("hex");

/** A conda-build-like binary placeholder, long enough for any image prefix (and short enough for the fixture's 255-byte C string). */
const LONG_PLACEHOLDER = "/opt/conda-bld/demo_1700000000000/_h_env_".padEnd(200, "placehold_");

/** The fixture binary as the package shipped it: the C string holds `placeholder` instead of the prefix. */
function binaryWith(placeholder: string): Buffer {
  const cstr = Buffer.alloc(PLACEHOLDER_LENGTH);
  cstr.write(`${placeholder}/share/data`);
  return Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]), cstr, Buffer.from([0, 9, 9, 9])]);
}

/**
 * Makes the prefix's binary come from a package with LONG_PLACEHOLDER (its conda-meta says so)
 * and, when `cacheDir` is given, puts that package's original at `<cacheDir>/pkgs/demo-1.0-0`.
 */
async function withLongPlaceholder(prefix: string, cacheDir?: string): Promise<void> {
  const file = join(prefix, "conda-meta", "demo-1.0-0.json");
  const record = JSON.parse(await readFile(file, "utf8")) as { paths_data: { paths: { _path: string; prefix_placeholder?: string }[] } };
  for (const p of record.paths_data.paths) if (p._path === "lib/libdemo.so.1.0") p.prefix_placeholder = LONG_PLACEHOLDER;
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`);
  if (cacheDir) {
    await mkdir(join(cacheDir, "pkgs", "demo-1.0-0", "lib"), { recursive: true });
    await writeFile(join(cacheDir, "pkgs", "demo-1.0-0", "lib", "libdemo.so.1.0"), binaryWith(LONG_PLACEHOLDER));
  }
}

test("the layer holds the prefix at /opt/conda/envs/<name>, moved there", async () => {
  const prefix = join(work, "builds", "a1b2c3d4e5f6-demo");
  await makePrefix(prefix);
  const out = join(work, "layer-1.tar.gz");
  const r = await writeEnvironmentLayer({ prefix, target: TARGET, platform: "linux-64", out });
  const blob = await readFile(out);
  assert.equal(r.digest, `sha256:${createHash("sha256").update(blob).digest("hex")}`);
  assert.equal(r.diffId, `sha256:${createHash("sha256").update(gunzipSync(blob)).digest("hex")}`);
  assert.equal(r.size, blob.length);
  assert.equal(r.relocated, 3, "text file, entry point and binary");

  const entries = await readTar(blob);
  const names = entries.map((e) => e.header.name);
  assert.deepEqual(names.slice(0, 4), ["opt/", "opt/conda/", "opt/conda/envs/", "opt/conda/envs/demo/"]);
  const rest = names.slice(4).map((n) => n.replace(/\/$/, ""));
  assert.deepEqual(rest, [...rest].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))), "sorted by path");
  for (const e of entries) {
    assert.equal(e.header.mtime?.getTime(), 0, e.header.name);
    assert.equal(e.header.uid, 0);
    assert.equal(e.header.gid, 0);
    assert.equal(e.header.uname, "");
    assert.equal(e.header.gname, "");
  }
  const get = (rel: string) => entries.find((e) => e.header.name === `opt/conda/envs/demo/${rel}`);
  assert.equal(get("bin/hello")?.data.toString(), `#!/bin/sh\necho "${TARGET}"\n`);
  assert.equal(get("bin/hello")?.header.mode, 0o755);
  assert.equal(get("share/doc/README")?.header.mode, 0o640, "modes kept");
  assert.equal(get("bin/tool")?.data.toString(), `#!${TARGET}/bin/python\nimport tool\n`, "entry point shebang moved");
  assert.equal(get("lib/libdemo.so")?.header.type, "symlink");
  assert.equal(get("lib/libdemo.so")?.header.linkname, "libdemo.so.1.0", "relative link unchanged");
  assert.equal(get("bin/hello-abs")?.header.linkname, `${TARGET}/bin/hello`, "absolute link into the prefix moved");

  const bin = get("lib/libdemo.so.1.0")?.data as Buffer;
  const original = await readFile(join(prefix, "lib", "libdemo.so.1.0"));
  assert.equal(bin.length, original.length, "offsets in a binary do not move");
  const at = bin.indexOf(`${TARGET}/share/data\0`);
  assert.equal(at, 7);
  assert.ok(bin.subarray(at + `${TARGET}/share/data`.length, at + PLACEHOLDER_LENGTH).every((b) => b === 0), "NUL-padded");
  assert.deepEqual(bin.subarray(at + PLACEHOLDER_LENGTH), Buffer.from([0, 9, 9, 9]));

  for (const e of entries) assert.ok(!e.data.includes(prefix), `${e.header.name} still names the build prefix`);
  const record = JSON.parse(get("conda-meta/demo-1.0-0.json")?.data.toString() ?? "{}") as {
    extracted_package_dir: string;
    package_tarball_full_path: string;
    link: { source: string };
    paths_data: { paths: { _path: string; sha256?: string; sha256_in_prefix?: string; size_in_bytes?: number }[] };
  };
  assert.equal(record.extracted_package_dir, "/opt/conda/pkgs/demo-1.0-0");
  assert.equal(record.package_tarball_full_path, "/opt/conda/pkgs/demo-1.0-0.conda");
  assert.equal(record.link.source, "/opt/conda/pkgs/demo-1.0-0");
  assert.equal(record.paths_data.paths.find((p) => p._path === "bin/hello")?.sha256_in_prefix, sha(get("bin/hello")?.data));
  assert.equal(record.paths_data.paths.find((p) => p._path === "lib/libdemo.so.1.0")?.sha256_in_prefix, sha(bin));
  const tool = record.paths_data.paths.find((p) => p._path === "bin/tool");
  assert.deepEqual([tool?.sha256, tool?.sha256_in_prefix, tool?.size_in_bytes], [sha(get("bin/tool")?.data), sha(get("bin/tool")?.data), get("bin/tool")?.data.length], "entry points are the installer's: their record follows them");
  assert.equal(record.paths_data.paths.find((p) => p._path === "bin/hello")?.sha256, "a".repeat(64), "a package file's own sha256 stays");
  assert.match(get("conda-meta/history")?.data.toString() ?? "", /^==> 1970-01-01 00:00:00 <==\n# cmd: condaops install\n/);
});

test("two installs of one environment in different folders give the same layer", async () => {
  const a = join(work, "state-a", "builds", "0123456789ab-demo");
  const b = join(work, "elsewhere", "much", "longer", "path", "builds", "0123456789ab-demo");
  await makePrefix(a);
  await new Promise((r) => setTimeout(r, 1100)); // a different install time in history and mtimes
  await makePrefix(b);
  const ra = await writeEnvironmentLayer({ prefix: a, target: TARGET, platform: "linux-64", out: join(work, "a.tar.gz") });
  const rb = await writeEnvironmentLayer({ prefix: b, target: TARGET, platform: "linux-64", out: join(work, "b.tar.gz") });
  assert.equal(ra.diffId, rb.diffId);
  assert.equal(ra.digest, rb.digest);
  assert.deepEqual(await readFile(join(work, "a.tar.gz")), await readFile(join(work, "b.tar.gz")));
  const gz = await readFile(join(work, "a.tar.gz"));
  assert.deepEqual([...gz.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3], "gzip header: no name, mtime 0");
});

test("a target prefix longer than the build prefix is refused for binaries, naming the file; nothing is left behind", async () => {
  const prefix = join(work, "p");
  await makePrefix(prefix);
  const out = join(work, "long.tar.gz");
  await assert.rejects(
    writeEnvironmentLayer({ prefix, target: "/opt/conda/envs/a-much-longer-environment-name", platform: "linux-64", out }),
    (e: unknown) => e instanceof InputError && e.code === "oci.prefix-too-long" && e.message.includes("lib/libdemo.so.1.0"),
  );
  assert.deepEqual((await readdir(work)).filter((n) => n.startsWith("long")), []);
});

test("a symlink leading out of the environment is refused, as in the pack; nothing is left behind", async () => {
  const prefix = join(work, "escape", "p");
  await makePrefix(prefix);
  await symlink("../../../../etc/passwd", join(prefix, "lib", "evil"));
  const out = join(work, "escape.tar.gz");
  await assert.rejects(
    writeEnvironmentLayer({ prefix, target: TARGET, platform: "linux-64", out }),
    (e: unknown) => e instanceof InputError && e.code === "oci.symlink-escape" && e.message.includes("lib/evil"),
  );
  assert.deepEqual((await readdir(work)).filter((n) => n.startsWith("escape.tar")), []);
});

test("a folder without conda-meta is not an environment", async () => {
  await assert.rejects(
    writeEnvironmentLayer({ prefix: work, target: TARGET, platform: "linux-64", out: join(work, "x.tar.gz") }).then(() => undefined),
    (e: unknown) => e instanceof InputError && e.code === "oci.no-conda-meta",
  );
});

test("a binary whose original is in the package cache is rewritten from it: the image prefix may be longer than the build prefix", async () => {
  const short = await mkdtemp("/tmp/o");
  try {
    const prefix = join(short, "p");
    assert.ok(Buffer.byteLength(prefix) < Buffer.byteLength(TARGET), `${prefix} is shorter than ${TARGET}`);
    await makePrefix(prefix);
    const cacheDir = join(short, "c");
    await withLongPlaceholder(prefix, cacheDir);
    const r = await writeEnvironmentLayer({ prefix, target: TARGET, platform: "linux-64", cacheDir, out: join(work, "short.tar.gz") });
    assert.equal(r.relocated, 3);
    assert.equal(r.fromPackage, 1, "the binary came from the package's original");
    const entries = await readTar(await readFile(join(work, "short.tar.gz")));
    const get = (rel: string) => entries.find((e) => e.header.name === `opt/conda/envs/demo/${rel}`);
    const bin = get("lib/libdemo.so.1.0")?.data as Buffer;
    assert.equal(bin.indexOf(`${TARGET}/share/data\0`), 7);
    assert.ok(bin.subarray(7 + `${TARGET}/share/data`.length, 7 + PLACEHOLDER_LENGTH).every((b) => b === 0), "NUL-padded");
    assert.deepEqual(bin.subarray(7 + PLACEHOLDER_LENGTH), Buffer.from([0, 9, 9, 9]));
    for (const e of entries) assert.ok(!e.data.includes(prefix), `${e.header.name} still names the build prefix`);
    const record = JSON.parse(get("conda-meta/demo-1.0-0.json")?.data.toString() ?? "{}") as { paths_data: { paths: { _path: string; sha256_in_prefix?: string }[] } };
    assert.equal(record.paths_data.paths.find((p) => p._path === "lib/libdemo.so.1.0")?.sha256_in_prefix, sha(bin), "conda-meta describes the image's file");

    // The same environment installed at a long path, rewritten from its installed copy (no cache): the same layer.
    const long = join(work, "a", "rather", "long", "state", "folder", "builds", "0123456789ab-demo");
    await makePrefix(long);
    await withLongPlaceholder(long);
    const l = await writeEnvironmentLayer({ prefix: long, target: TARGET, platform: "linux-64", out: join(work, "long-installed.tar.gz") });
    assert.equal(l.fromPackage, 0);
    assert.equal(l.diffId, r.diffId, "from the original or the installed copy: the same bytes");
    assert.equal(l.digest, r.digest);
  } finally {
    await rm(short, { recursive: true, force: true });
  }
});

test("without a usable original in the cache, a build prefix shorter than the image prefix is still refused clearly", async () => {
  const short = await mkdtemp("/tmp/o");
  try {
    const prefix = join(short, "p");
    await makePrefix(prefix);
    const cacheDir = join(short, "c");
    await withLongPlaceholder(prefix);
    const refused = (e: unknown): boolean => e instanceof InputError && e.code === "oci.prefix-too-long" && e.message.includes("lib/libdemo.so.1.0") && e.message.includes("package cache has no original");
    await assert.rejects(writeEnvironmentLayer({ prefix, target: TARGET, platform: "linux-64", cacheDir, out: join(work, "no-original.tar.gz") }), refused, "no original in the cache");
    // An original that is not what was installed (another build of the package) is not used.
    await withLongPlaceholder(prefix, cacheDir);
    const other = binaryWith(LONG_PLACEHOLDER);
    other[other.length - 1] = 8;
    await writeFile(join(cacheDir, "pkgs", "demo-1.0-0", "lib", "libdemo.so.1.0"), other);
    await assert.rejects(writeEnvironmentLayer({ prefix, target: TARGET, platform: "linux-64", cacheDir, out: join(work, "other-original.tar.gz") }), refused, "a different original");
    assert.deepEqual((await readdir(work)).filter((n) => n.endsWith("original.tar.gz") || n.endsWith("original.tar.gz.tmp")), []);
  } finally {
    await rm(short, { recursive: true, force: true });
  }
});
