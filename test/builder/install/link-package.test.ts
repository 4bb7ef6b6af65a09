// Linking real fixture packages (extracted with the CLI tools, standing in for the package cache)
// into a staging folder that is then renamed to the prefix, and running what was installed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { constants, copyFileSync, existsSync, writeFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { linkPackage } from "../../../src/builder/install/link-package.ts";
import type { LinkedPath } from "../../../src/builder/install/link-package.ts";
import type { ExtractedPackage, LinkContext } from "../../../src/builder/install/types.ts";
import { InputError } from "../../../src/errors.ts";
import { buildPackage } from "../../fixtures/conda-package.ts";
import type { PackageDef } from "../../fixtures/conda-package.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { extractPackage, fixturePackage } from "./extract-cli.ts";

let u: Universe;
let work: string;
let cache: string;
let n = 0;

before(async () => {
  u = await sharedUniverse();
  work = await mkdtemp(join(tmpdir(), "condaops-link-"));
  cache = join(work, "pkgs");
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** A fresh prefix name and its staging folder. */
function env(extra: Partial<LinkContext> = {}): LinkContext {
  const prefix = join(work, "envs", `e${++n}`);
  return { prefix, staging: `${prefix}.partial-${n}abc`, platform: "linux-64", hardlinks: true, ...extra };
}
const finish = async (ctx: LinkContext): Promise<void> => rename(ctx.staging, ctx.prefix);

/** Builds a one-off package and extracts it into the cache. */
async function custom(def: PackageDef): Promise<ExtractedPackage> {
  const built = await buildPackage(def, join(work, "channel", def.subdir), "tar.bz2");
  return extractPackage(built.path, join(work, "custom-pkgs"), "https://conda.anaconda.org/test");
}

/** Does this filesystem clone files? Then linkPackage reflinks instead of hard-linking. */
function reflinkWorks(dir: string): boolean {
  const a = join(dir, "reflink-probe");
  writeFileSync(a, "x");
  try {
    copyFileSync(a, `${a}2`, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  }
}

test("hello-prefix: the text placeholder becomes the final prefix; the script prints it after the rename", async () => {
  const pkg = await fixturePackage(u, cache, "hello-prefix");
  const ctx = env();
  const linked = await linkPackage(pkg, ctx);
  assert.deepEqual(linked.files, ["bin/hello-prefix"]);
  const p = linked.paths[0] as LinkedPath;
  assert.equal(p.prefix_placeholder, "/opt/anaconda1anaconda2anaconda3");
  assert.equal(p.file_mode, "text");
  assert.notEqual(p.sha256_in_prefix, p.sha256);
  await finish(ctx);
  const exe = join(ctx.prefix, "bin", "hello-prefix");
  assert.equal(execFileSync(exe, { encoding: "utf8" }), `${ctx.prefix}\n`);
  // copied, not linked: the cache keeps the placeholder
  assert.notEqual((await stat(exe)).ino, (await stat(join(pkg.dir, "bin", "hello-prefix"))).ino);
  assert.match(await readFile(join(pkg.dir, "bin", "hello-prefix"), "utf8"), /anaconda1anaconda2anaconda3/);
  assert.equal((await stat(exe)).mode & 0o777, 0o755);
});

test("prefix-bin: the compiled binary prints the new prefix (binary placeholder, NUL-padded)", async (t) => {
  if (!u.hasCompiler) {
    t.skip("no C compiler: `cc` was not found, so the fixture universe has no prefix-bin package");
    return;
  }
  const pkg = await fixturePackage(u, cache, "prefix-bin");
  const ctx = env();
  const linked = await linkPackage(pkg, ctx);
  assert.equal((linked.paths[0] as LinkedPath).file_mode, "binary");
  await finish(ctx);
  const exe = join(ctx.prefix, "bin", "prefix-bin");
  assert.equal(execFileSync(exe, { encoding: "utf8" }), `${ctx.prefix}/share/prefix-bin/data\n`);
  assert.equal((await stat(exe)).size, (await stat(join(pkg.dir, "bin", "prefix-bin"))).size);
});

test("requests (noarch: python) next to python: site-packages under lib/python3.11, a runnable entry point", async () => {
  const python = await fixturePackage(u, cache, "python", "3.11.7");
  const requests = await fixturePackage(u, cache, "requests", "2.31.0");
  const ctx = env({ pythonVersion: "3.11" });
  await linkPackage(python, ctx);
  const linked = await linkPackage(requests, ctx);
  assert.ok(linked.files.includes("lib/python3.11/site-packages/requests/__init__.py"));
  assert.ok(linked.files.includes("lib/python3.11/site-packages/requests/cli.py"));
  assert.ok(linked.files.includes("bin/requests-cli"));
  assert.ok(!linked.files.some((f) => f.startsWith("site-packages/")));
  await finish(ctx);
  const cli = join(ctx.prefix, "bin", "requests-cli");
  assert.equal((await stat(cli)).mode & 0o777, 0o755);
  assert.match(await readFile(cli, "utf8"), new RegExp(`^#!${ctx.prefix}/bin/python3\\.11\n`));
  assert.equal(execFileSync(cli, { encoding: "utf8" }), "requests-cli 2.31.0\n");
});

test("noarch: python without a python in the environment is an InputError", async () => {
  const requests = await fixturePackage(u, cache, "requests", "2.31.0");
  await assert.rejects(linkPackage(requests, env()), (e: unknown) => e instanceof InputError && /no python/.test(e.message));
});

test("linkdemo: softlink recreated, no_link file copied, other files hard-linked to the cache", async () => {
  const pkg = await fixturePackage(u, cache, "linkdemo");
  const ctx = env();
  const linked = await linkPackage(pkg, ctx);
  assert.deepEqual(linked.files, ["etc/linkdemo.conf", "share/linkdemo/current.txt", "share/linkdemo/data.txt"]);
  await finish(ctx);
  assert.equal(await readlink(join(ctx.prefix, "share/linkdemo/current.txt")), "data.txt");
  assert.equal(await readFile(join(ctx.prefix, "share/linkdemo/current.txt"), "utf8"), "linkdemo data\n");
  const ino = async (root: string, p: string): Promise<number> => (await stat(join(root, p))).ino;
  assert.notEqual(await ino(ctx.prefix, "etc/linkdemo.conf"), await ino(pkg.dir, "etc/linkdemo.conf"), "no_link files are copies");
  const conf = linked.paths.find((p) => p._path === "etc/linkdemo.conf");
  assert.equal(conf?.no_link, true);
  if (reflinkWorks(work)) {
    assert.equal(linked.linkType, "copy");
  } else {
    assert.equal(linked.linkType, "hardlink");
    assert.equal(await ino(ctx.prefix, "share/linkdemo/data.txt"), await ino(pkg.dir, "share/linkdemo/data.txt"), "hard link to the cache");
  }
});

test("without hard links (another filesystem), files are copies", async () => {
  const pkg = await fixturePackage(u, cache, "linkdemo");
  const ctx = env({ hardlinks: false });
  const linked = await linkPackage(pkg, ctx);
  assert.equal(linked.linkType, "copy");
  assert.notEqual((await stat(join(ctx.staging, "share/linkdemo/data.txt"))).ino, (await stat(join(pkg.dir, "share/linkdemo/data.txt"))).ino);
});

test("softlinks that resolve outside the prefix are refused and nothing is written outside", async () => {
  const cases: [string, PackageDef["softlinks"]][] = [
    ["relative", [{ path: "lib/evil", target: "../../outside.txt" }]],
    ["absolute", [{ path: "lib/evil", target: "/etc/passwd" }]],
    // `sub` is the prefix itself, so `sub/..` is its parent even though it looks like the prefix
    ["through a symlinked directory", [{ path: "sub", target: "." }, { path: "x", target: "sub/../outside.txt" }]],
  ];
  for (const [name, softlinks] of cases) {
    const pkg = await custom({ name: `evil-${name.replace(/\W+/g, "-")}`, version: "1", subdir: "linux-64", softlinks });
    const ctx = env();
    await assert.rejects(linkPackage(pkg, ctx), (e: unknown) => e instanceof InputError && e.code === "install.path-escape" && /outside the prefix/.test(e.message), name);
    assert.equal(existsSync(join(ctx.staging, "lib", "evil")), false, name);
  }
  // a link inside the prefix, even to something another package provides later, is fine
  const ok = await custom({ name: "dangling-ok", version: "1", subdir: "linux-64", softlinks: [{ path: "lib/libfoo.so", target: "libfoo.so.1" }, { path: "bin/up", target: "../lib/libfoo.so" }] });
  const ctx = env();
  await linkPackage(ok, ctx);
  assert.equal(await readlink(join(ctx.staging, "bin/up")), "../lib/libfoo.so");
});

test("a directory symlinked out of the prefix is never written through", async () => {
  const pkg = await fixturePackage(u, cache, "linkdemo");
  const ctx = env();
  const outside = join(work, "outside-dir");
  await mkdir(outside, { recursive: true });
  await mkdir(ctx.staging, { recursive: true });
  await symlink(outside, join(ctx.staging, "share"));
  await assert.rejects(linkPackage(pkg, ctx), (e: unknown) => e instanceof InputError && e.code === "install.path-escape");
  assert.deepEqual(await readdir(outside), []);
});

test("clobbering: an identical file is kept, a different one is refused naming the path", async () => {
  const ctx = env();
  const a = await custom({ name: "clob-a", version: "1", subdir: "linux-64", files: [{ path: "share/common.txt", content: "same\n" }, { path: "share/a.txt", content: "a\n" }] });
  const same = await custom({ name: "clob-same", version: "1", subdir: "linux-64", files: [{ path: "share/common.txt", content: "same\n" }] });
  const diff = await custom({ name: "clob-diff", version: "1", subdir: "linux-64", files: [{ path: "share/common.txt", content: "different\n" }] });
  const logs: string[] = [];
  await linkPackage(a, { ...ctx, log: (l) => logs.push(l) });
  const again = await linkPackage(same, { ...ctx, log: (l) => logs.push(l) });
  assert.deepEqual(again.files, ["share/common.txt"]);
  assert.ok(logs.some((l) => /share\/common\.txt is already in the prefix with the same content/.test(l)));
  await assert.rejects(linkPackage(diff, ctx), (e: unknown) => e instanceof InputError && e.code === "install.clobber" && /clob-diff-1-.* would overwrite share\/common\.txt/.test(e.message));
  assert.equal(await readFile(join(ctx.staging, "share/common.txt"), "utf8"), "same\n");
});

test("a placeholder file keeps its mode and its recorded digests", async () => {
  const pkg = await custom({
    name: "modes",
    version: "1",
    subdir: "linux-64",
    files: [
      { path: "libexec/tool", content: "#!/opt/anaconda1anaconda2anaconda3/bin/sh\necho hi\n", prefixPlaceholder: true, mode: 0o750 },
      { path: "share/readonly.txt", content: "prefix=/opt/anaconda1anaconda2anaconda3\n", prefixPlaceholder: true, mode: 0o444 },
    ],
  });
  const ctx = env();
  const linked = await linkPackage(pkg, ctx);
  assert.equal((await lstat(join(ctx.staging, "libexec/tool"))).mode & 0o777, 0o750);
  assert.equal((await lstat(join(ctx.staging, "share/readonly.txt"))).mode & 0o777, 0o444);
  const ro = linked.paths.find((p) => p._path === "share/readonly.txt") as LinkedPath;
  assert.equal(ro.sha256_in_prefix, createHash("sha256").update(`prefix=${ctx.prefix}\n`).digest("hex"));
  assert.equal(ro.sha256, createHash("sha256").update("prefix=/opt/anaconda1anaconda2anaconda3\n").digest("hex"));
});

test("a binary placeholder shorter than the prefix fails clearly, naming the package and the file", async () => {
  const pkg = await custom({ name: "shortph", version: "1", subdir: "linux-64", files: [{ path: "lib/data.bin", content: Buffer.from("\x7fELF\0/ph/lib\0"), prefixPlaceholder: { placeholder: "/ph", mode: "binary" } }] });
  await assert.rejects(linkPackage(pkg, env()), (e: unknown) => e instanceof InputError && /^shortph-1-\S+: lib\/data\.bin: the prefix .* is longer than the package's binary placeholder \(3 bytes\)/.test(e.message));
});

test("an old package without info/paths.json links from info/files + has_prefix", async () => {
  const pkg = await custom({
    name: "oldstyle",
    version: "1",
    subdir: "linux-64",
    files: [
      { path: "bin/oldtool", content: '#!/bin/sh\necho "/opt/anaconda1anaconda2anaconda3"\n', prefixPlaceholder: true },
      { path: "share/oldstyle/plain.txt", content: "plain\n" },
    ],
    softlinks: [{ path: "share/oldstyle/link.txt", target: "plain.txt" }],
  });
  await rm(join(pkg.dir, "info", "paths.json"));
  const ctx = env();
  const linked = await linkPackage(pkg, ctx);
  assert.deepEqual(linked.files, ["bin/oldtool", "share/oldstyle/link.txt", "share/oldstyle/plain.txt"]);
  assert.deepEqual(linked.paths.map((p) => p.path_type), ["hardlink", "softlink", "hardlink"]);
  await finish(ctx);
  assert.equal(execFileSync(join(ctx.prefix, "bin", "oldtool"), { encoding: "utf8" }), `${ctx.prefix}\n`);
  assert.equal(await readlink(join(ctx.prefix, "share/oldstyle/link.txt")), "plain.txt");
});
