import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writePack } from "../../../src/builder/pack/pack-archive.ts";
import { parseManifest } from "../../../src/builder/pack/pack-manifest.ts";
import { InfraError, InputError } from "../../../src/errors.ts";
import { extract, filesHolding, fixtureLock, installFixture, unpack } from "./helpers.ts";
import type { FixtureEnv } from "./helpers.ts";

let work: string;
let env: FixtureEnv;
let prefix: string;
let archive: string;
const MTIME = new Date("2024-06-01T12:00:00Z");

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-pack-"));
  env = await fixtureLock(work);
  prefix = join(work, "state", "builds", "0123456789ab-env");
  // compilePython: bytecode compiled at install time embeds the build prefix.
  await installFixture(env, prefix, true);
  archive = join(work, "env.tar.gz");
  await writePack({ prefix, out: archive, cacheDir: env.cacheDir, mtime: MTIME, label: "test/env@abc (linux-64)" });
});
after(async () => {
  await env.close();
  await rm(work, { recursive: true, force: true });
});

const run = (file: string, args: string[] = []): string => execFileSync(file, args, { encoding: "utf8" }).trim();

/** Checks an unpacked environment at `dir`: placeholders, entry points, bytecode, no trace of the build prefix. */
function checkUnpacked(dir: string, t: { diagnostic(s: string): void }): void {
  assert.equal(run(join(dir, "bin", "hello-prefix")), dir, "text placeholder rewritten");
  assert.match(run(join(dir, "bin", "requests-cli")), /^requests-cli 2\.32\.3$/, "python entry point runs");
  assert.match(run(join(dir, "bin", "f2py")), /^f2py from numpy/, "shebang with the prefix runs");
  assert.equal(run(join(dir, "bin", "python"), ["-c", "import numpy; print(numpy.__file__)"]), join(dir, "lib", "python3.11", "site-packages", "numpy", "__init__.py"));
  if (env.universe.hasCompiler) assert.equal(run(join(dir, "bin", "prefix-bin")), `${dir}/share/prefix-bin/data`, "binary placeholder rewritten");
  else t.diagnostic("binary placeholder not checked: no C compiler (cc) on this machine");
  assert.deepEqual(filesHolding(dir, prefix), [], "no file holds the build prefix");
}

test("a pack extracted elsewhere and unpacked works there, whatever the new path's length", async (t) => {
  // Shorter, longer with a blank (shebangs need the two-liner), and longer than the kernel's
  // 127-byte shebang limit; each unpacked by a different POSIX shell.
  const destinations: [string, string][] = [
    [join(work, "s"), "dash"],
    [join(work, "a much longer folder", "with spaces", "env"), "bash"],
    [join(work, "x".repeat(60), "y".repeat(60), "z".repeat(30)), "sh"],
  ];
  for (const [dest, shell] of destinations) {
    await extract(archive, dest);
    assert.ok(filesHolding(dest, prefix).length > 0, "the archive holds the build prefix before unpacking");
    const r = unpack(dest, shell);
    assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
    assert.match(r.stdout, /is ready/);
    checkUnpacked(dest, t);
    const pyc = join(dest, "lib", "python3.11", "site-packages", "requests", "__pycache__");
    assert.ok(existsSync(pyc) && execFileSync("ls", [pyc], { encoding: "utf8" }).includes(".pyc"), "bytecode compiled again by conda-unpack");
  }
});

test("running conda-unpack again in place does nothing; after a move it works from the current place", async (t) => {
  const first = join(work, "first");
  await extract(archive, first);
  assert.equal(unpack(first).status, 0);
  const hello = await readFile(join(first, "bin", "hello-prefix"));
  const again = unpack(first);
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already set up for this folder; nothing to do/);
  assert.deepEqual(await readFile(join(first, "bin", "hello-prefix")), hello);

  const moved = join(work, "moved", "to", "another", "place");
  await mkdir(join(moved, ".."), { recursive: true });
  await rename(first, moved);
  const r = unpack(moved);
  assert.equal(r.status, 0, r.stderr);
  checkUnpacked(moved, t);
  assert.deepEqual(filesHolding(moved, first), [], "no file holds the previous place");
});

test("an interrupted conda-unpack is not run again over half-rewritten files", async () => {
  const dest = join(work, "interrupted");
  await extract(archive, dest);
  await writeFile(join(dest, ".condaops-pack", "unpacking"), "/elsewhere\n");
  const r = unpack(dest);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /interrupted.*extract the archive again/);
});

test("a path too long for a binary's strings is refused, naming the file and the limit", async (t) => {
  if (!env.universe.hasCompiler) return t.skip("no binary placeholder package: no C compiler (cc) on this machine");
  const manifest = parseManifest(await readFile(join(work, "s", ".condaops-pack", "manifest.json"), "utf8"));
  assert.deepEqual(manifest.maxPrefix, { bytes: 255, path: "bin/prefix-bin" }, "the package's 255-byte placeholder is the limit, not the build prefix's length");
  assert.equal(manifest.binary[0]?.fromPackage, true);
  const dest = join(work, "long", "a".repeat(200), "b".repeat(60));
  await extract(archive, dest);
  const before = await readFile(join(dest, "bin", "prefix-bin"));
  const r = unpack(dest);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bin\/prefix-bin can hold a path of at most 255 bytes: move the environment to a shorter path/);
  assert.deepEqual(await readFile(join(dest, "bin", "prefix-bin")), before, "nothing rewritten");
  assert.equal(existsSync(join(dest, ".condaops-pack", "unpacking")), false);
});

test("packing is reproducible: same prefix, same bytes; owners and times fixed", async () => {
  const second = join(work, "again.tar.gz");
  const r = await writePack({ prefix, out: second, cacheDir: env.cacheDir, mtime: MTIME, label: "test/env@abc (linux-64)" });
  assert.deepEqual(await readFile(second), await readFile(archive));
  assert.equal(r.bytes, statSync(archive).size);
  const listing = execFileSync("tar", ["--numeric-owner", "--utc", "-tvzf", archive], { encoding: "utf8" }).trim().split("\n");
  for (const line of listing) assert.match(line, /^\S+ 0\/0 +\d+ 2024-06-01 12:00 /, line);
  const names = execFileSync("tar", ["-tzf", archive], { encoding: "utf8" }).trim().split("\n");
  assert.ok(names.indexOf("bin/") < names.indexOf("bin/hello-prefix"), "folders before their content");
  assert.deepEqual(names.slice(-5), [".condaops-pack/", ".condaops-pack/manifest.json", ".condaops-pack/prefix", ".condaops-pack/pyc-sources", "bin/conda-unpack"]);
  assert.ok(!names.some((n) => n.endsWith(".pyc")), "bytecode holding the prefix is left out");
});

test("hard links become files, symlinks stay links", async () => {
  const dest = join(work, "s");
  assert.equal(await readlink(join(dest, "share", "linkdemo", "current.txt")), "data.txt");
  assert.equal(await readlink(join(dest, "bin", "python")), "python3.11");
  assert.equal(statSync(join(dest, "share", "linkdemo", "data.txt")).nlink, 1);
});

/** A hand-made prefix: whatever the test puts in it, plus one file holding the prefix. */
async function handMade(name: string): Promise<string> {
  const p = join(work, "hand", name);
  await mkdir(join(p, "bin"), { recursive: true });
  await writeFile(join(p, "bin", "tool"), `#!/bin/sh\necho '${p}'\n`, { mode: 0o755 });
  return p;
}

test("file names with blanks, quotes, newlines and shell syntax are rewritten and never run", async () => {
  // Longer than where it goes: the binary's string must have room for the new path.
  const p = await handMade(`hostile-${"p".repeat(40)}`);
  const names = [
    `it's a "file" $(touch PWNED1) \`touch PWNED2\`.txt`,
    "new\nline; touch PWNED3.txt",
    "-rf",
    "ünïcödé %s %n \\x41.txt",
    "tab\there|pipe&amp*star?[x].txt",
  ];
  await mkdir(join(p, "share"), { recursive: true });
  for (const n of names) await writeFile(join(p, "share", n), `path=${p}/share\nagain ${p}\n`);
  await writeFile(join(p, "share", "bin ary'$(touch PWNED4).so"), Buffer.concat([Buffer.from([0x7f, 0x45, 0, 0]), Buffer.from(`${p}/lib 'x' %d\\n`), Buffer.alloc(40), Buffer.from("tail")]));
  await writeFile(join(p, "share", "read-only.txt"), `${p}\n`, { mode: 0o444 });
  chmodSync(join(p, "share", "read-only.txt"), 0o444);
  const out = join(work, "hostile.tar.gz");
  const r = await writePack({ prefix: p, out });
  assert.equal(r.rewrites.text, names.length + 2);
  assert.equal(r.rewrites.binary, 1);
  // The new path itself is hostile to sed, printf and the shell.
  const dest = join(work, 'h $(touch PWNED5) %s\\&|"', "e");
  await extract(out, dest);
  const u = unpack(dest, "sh", work);
  assert.equal(u.status, 0, u.stderr);
  for (const n of names) assert.equal(await readFile(join(dest, "share", n), "utf8"), `path=${dest}/share\nagain ${dest}\n`, JSON.stringify(n));
  const bin = await readFile(join(dest, "share", "bin ary'$(touch PWNED4).so"));
  const str = Buffer.from(`${dest}/lib 'x' %d\\n`);
  assert.deepEqual(bin.subarray(4, 4 + str.length), str);
  assert.equal(bin.length, 4 + Buffer.byteLength(`${p}/lib 'x' %d\\n`) + 40 + 4, "binary length unchanged");
  assert.equal(bin.subarray(-4).toString(), "tail");
  assert.equal(await readFile(join(dest, "share", "read-only.txt"), "utf8"), `${dest}\n`);
  assert.equal(statSync(join(dest, "share", "read-only.txt")).mode & 0o777, 0o444, "mode restored");
  assert.equal(run(join(dest, "bin", "tool")), dest);
  const pwned = execFileSync("find", [work, "-name", "PWNED*"], { encoding: "utf8" }).trim();
  assert.equal(pwned, "", "no file name was run as code");
  assert.deepEqual(filesHolding(dest, p), []);
});

test("a binary's strings are rewritten exactly; a longer path than the build prefix is refused when no package original exists", async () => {
  const p = await handMade("bin-short");
  const data = Buffer.concat([Buffer.from("\x7fELF\0"), Buffer.from(`${p}/a:${p}/b`), Buffer.alloc(1), Buffer.from(`x${p}`), Buffer.alloc(8), Buffer.from(`${p}/no-nul-after`)]);
  await writeFile(join(p, "bin", "prog"), data, { mode: 0o755 });
  const out = join(work, "bin-short.tar.gz");
  const logs: string[] = [];
  await writePack({ prefix: p, out, log: (l) => logs.push(l) });
  assert.match(logs.join("\n"), /bin\/prog holds the build prefix 1 time\(s\) outside C strings/);
  const shorter = join(work, "b");
  await extract(out, shorter);
  assert.equal(unpack(shorter).status, 0);
  const got = await readFile(join(shorter, "bin", "prog"));
  assert.equal(got.length, data.length);
  const expected = Buffer.from(data);
  const s1 = Buffer.from(`${shorter}/a:${shorter}/b`);
  s1.copy(expected, 5);
  expected.fill(0, 5 + s1.length, 5 + Buffer.byteLength(`${p}/a:${p}/b`));
  const at2 = data.indexOf(`x${p}`);
  const s2 = Buffer.from(`x${shorter}`);
  s2.copy(expected, at2);
  expected.fill(0, at2 + s2.length, at2 + Buffer.byteLength(`x${p}`));
  assert.deepEqual(got, expected);

  const longer = join(work, "much-longer-than-the-build-prefix", "env");
  await extract(out, longer);
  const r = unpack(longer);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`bin/prog can hold a path of at most ${Buffer.byteLength(p)} bytes`));
});

test("a big file is searched across chunk boundaries while it streams", async () => {
  const p = await handMade("big");
  const chunk = 1 << 20;
  const body = Buffer.alloc(3 * chunk, "a");
  body.write(p, chunk - 5); // straddles the first and the second chunk
  await writeFile(join(p, "big.txt"), body);
  const out = join(work, "big.tar.gz");
  const r = await writePack({ prefix: p, out });
  assert.equal(r.rewrites.text, 2);
  const dest = join(work, "big-out");
  await extract(out, dest);
  assert.equal(unpack(dest).status, 0);
  const got = await readFile(join(dest, "big.txt"));
  assert.equal(got.indexOf(dest), chunk - 5);
  assert.equal(got.length, body.length - Buffer.byteLength(p) + Buffer.byteLength(dest));
});

test("symlinks out of the prefix are refused; absolute ones into it become relative", async () => {
  const p = await handMade("links");
  await mkdir(join(p, "lib", "deep"), { recursive: true });
  await writeFile(join(p, "lib", "real.txt"), "real\n");
  await symlink(join(p, "lib", "real.txt"), join(p, "lib", "deep", "abs-in"));
  await symlink(p, join(p, "lib", "root"));
  const out = join(work, "links.tar.gz");
  await writePack({ prefix: p, out });
  const dest = join(work, "links-out");
  await extract(out, dest);
  assert.equal(await readlink(join(dest, "lib", "deep", "abs-in")), "../real.txt");
  assert.equal(await readlink(join(dest, "lib", "root")), "..");
  assert.equal(await readFile(join(dest, "lib", "deep", "abs-in"), "utf8"), "real\n");

  const cases: [string, string][] = [
    ["abs-out", "/etc/passwd"],
    ["rel-out", "../../outside"],
    // lib/s resolves to the prefix itself, so lib/s/.. is the prefix's parent
    ["through-link", "s/.."],
    ["dangling-up", "missing/../../.."],
  ];
  for (const [name, target] of cases) {
    const q = await handMade(`escape-${name}`);
    await mkdir(join(q, "lib"), { recursive: true });
    await symlink("..", join(q, "lib", "s"));
    await symlink(target, join(q, "lib", name));
    const bad = join(work, `${name}.tar.gz`);
    await assert.rejects(writePack({ prefix: q, out: bad }), (e: unknown) => e instanceof InputError && e.code === "pack.symlink-escape" && e.message.includes(`lib/${name}`), name);
    assert.equal(existsSync(bad), false, "nothing written");
    assert.equal(existsSync(`${bad}.partial-${process.pid}`), false, "no partial file left");
  }
});

test("names that are not UTF-8 are refused", async () => {
  const p = await handMade("latin1");
  execFileSync("sh", ["-c", `printf x > "$1/caf$(printf '\\351').txt"`, "sh", p]);
  await assert.rejects(writePack({ prefix: p, out: join(work, "latin1.tar.gz") }), (e: unknown) => e instanceof InputError && e.code === "pack.file-name");
});

test("a canceled pack stops and leaves nothing; an unwritable output is an infrastructure error", async () => {
  const p = await handMade("canceled");
  const out = join(work, "canceled.tar.gz");
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(writePack({ prefix: p, out, signal: ac.signal }), (e: unknown) => e instanceof Error && e.name === "AbortError");
  assert.equal(existsSync(out), false);
  assert.equal(existsSync(`${out}.partial-${process.pid}`), false);
  await assert.rejects(writePack({ prefix: p, out: join(work, "no", "such", "folder", "x.tar.gz") }), (e: unknown) => e instanceof InfraError && e.code === "pack.write");
});
