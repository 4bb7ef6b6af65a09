import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { extractArchive } from "../../../src/builder/package/extract.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import type { LockedPackage } from "../../../src/builder/lock/types.ts";
import { InfraError, InputError } from "../../../src/errors.ts";
import { buildChannel, serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { hostileArchive } from "../../fixtures/hostile-archive.ts";
import type { HostileKind } from "../../fixtures/hostile-archive.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import { listing, locked, lockedFromChannel, tempDir } from "./helpers.ts";

const tmp = tempDir("condaops-cache-");
const CHILD = join(import.meta.dirname, "race-child.ts");
const KINDS: HostileKind[] = ["dotdot", "absolute", "symlink-escape", "symlink-write-through", "hardlink-escape", "device", "duplicate", "bomb", "truncated"];
let universe: ChannelServer;
let local: ChannelServer;
let packages: LockedPackage[];
let seq = 0;
const root = (): string => join(tmp, `cache${seq++}`);
const isArchive = (url: string): boolean => /\.(conda|tar\.bz2)$/.test(url);
const downloads = (server: ChannelServer, since: number) => server.requests.slice(since).filter((r) => isArchive(r.url));
const RECORD = "info/repodata_record.json";

before(async () => {
  const u = await sharedUniverse();
  universe = await serveChannels(u.dir);
  packages = await lockedFromChannel(join(u.dir, "conda-forge"), `${universe.url}/conda-forge`, ["linux-64", "noarch"]);
  local = await serveChannels(join(tmp, "channels"));
});
after(async () => {
  await universe.close();
  await local.close();
});

/** The archive's own tree, extracted on its own, to compare a cache entry with. */
async function expectedTree(pkg: LockedPackage, archive: string): Promise<string[]> {
  const out = join(tmp, "expected", `${pkg.filename}-${seq++}`);
  await extractArchive(archive, out);
  return await listing(out);
}

test("ensure downloads, verifies and extracts; a second cache on the same folder makes no request", async () => {
  const dir = root();
  const picked = [packages.find((p) => p.filename.endsWith(".conda")), packages.find((p) => p.filename.endsWith(".tar.bz2")), packages.find((p) => p.noarch === "python")] as LockedPackage[];
  const cache = createPackageCache({ root: dir });
  assert.equal(cache.root, join(dir, "pkgs"));
  const mark = universe.requests.length;
  for (const pkg of picked) {
    let bytes = 0;
    const got = await cache.ensure(pkg, { onBytes: (n) => (bytes += n) });
    assert.equal(got.dir, join(dir, "pkgs", `${pkg.name}-${pkg.version}-${pkg.build}`));
    assert.equal(got.archive, join(dir, "pkgs", pkg.filename));
    assert.equal(got.record, pkg);
    assert.equal(bytes, pkg.size);
    const record = JSON.parse(await readFile(join(got.dir, RECORD), "utf8")) as Record<string, unknown>;
    for (const [k, v] of Object.entries({ name: pkg.name, version: pkg.version, build: pkg.build, build_number: pkg.buildNumber, channel: pkg.channel, subdir: pkg.subdir, url: pkg.url, fn: pkg.filename, md5: pkg.md5, sha256: pkg.sha256, size: pkg.size, depends: pkg.depends })) {
      assert.deepEqual(record[k], v, `${pkg.filename}: ${k}`);
    }
    assert.deepEqual(await listing(got.dir, (r) => r === RECORD), await expectedTree(pkg, got.archive));
  }
  assert.equal(downloads(universe, mark).length, 3);
  const again = universe.requests.length;
  const second = createPackageCache({ root: dir });
  for (const pkg of picked) await second.ensure(pkg);
  assert.equal(universe.requests.length, again, "no request at all");
  assert.deepEqual((await readdir(join(dir, "pkgs"))).sort(), picked.flatMap((p) => [p.filename, `${p.name}-${p.version}-${p.build}`]).sort());
});

test("every hostile archive is refused with an input error, and nothing of it stays in pkgs/", async () => {
  const built = [];
  for (const format of ["tar.bz2", "conda"] as const) for (const kind of KINDS) built.push(await hostileArchive(kind, join(tmp, "hostile", format), { format, bombBytes: 64 << 20 }));
  const records = await buildChannel(join(tmp, "channels", "hostile"), built, { replace: true });
  const dir = root();
  const cache = createPackageCache({ root: dir });
  for (const r of records) {
    await assert.rejects(cache.ensure(locked(`${local.url}/hostile`, r.filename, r.record)), (e: unknown) => {
      assert.ok(e instanceof InputError, `${r.filename}: ${String(e)}`);
      assert.ok(e.message.includes(r.filename), e.message);
      return true;
    });
    assert.deepEqual(await readdir(join(dir, "pkgs")), [], r.filename);
  }
});

test("a checksum mismatch is an input error; a package missing on the server an infrastructure error naming it", async () => {
  const dir = root();
  const cache = createPackageCache({ root: dir });
  const pkg = packages[0] as LockedPackage;
  await assert.rejects(cache.ensure({ ...pkg, sha256: "0".repeat(64) }), (e: unknown) => e instanceof InputError && e.code === "package.checksum" && /sha256 .* does not match the lock/.test(e.message));
  assert.deepEqual(await readdir(join(dir, "pkgs")), []);
  const gone = { ...pkg, filename: `gone-1.0-0.conda`, name: "gone", version: "1.0", build: "0", url: `${universe.url}/conda-forge/noarch/gone-1.0-0.conda` };
  await assert.rejects(cache.ensure(gone), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && e.message.includes(gone.url) && /404/.test(e.message));
  await assert.rejects(cache.ensure({ ...pkg, filename: "../../evil.conda" }), (e: unknown) => e instanceof InputError && e.code === "package.name");
  await assert.rejects(cache.ensure({ ...pkg, build: "x/../../y" }), (e: unknown) => e instanceof InputError && e.code === "package.name");
  assert.deepEqual(await readdir(join(dir, "pkgs")), []);
});

test("an entry of another archive with the same name-version-build, or an incomplete one, is replaced", async () => {
  const def = (content: string) => ({ name: "swap", version: "1.0", build: "h0_0", subdir: "noarch", noarch: "generic" as const, files: [{ path: "share/swap.txt", content }] });
  const [one] = await buildChannel(join(tmp, "channels", "one"), [def("one\n")], { format: "conda", replace: true });
  const [two] = await buildChannel(join(tmp, "channels", "two"), [def("two\n")], { format: "conda", replace: true });
  assert.ok(one && two && one.record.sha256 !== two.record.sha256);
  const A = locked(`${local.url}/one`, one.filename, one.record);
  const B = locked(`${local.url}/two`, two.filename, two.record);
  const dir = root();
  const swap = join(dir, "pkgs", "swap-1.0-h0_0");
  // Left by someone else, without a record: not trusted.
  await mkdir(join(swap, "share"), { recursive: true });
  await writeFile(join(swap, "share", "swap.txt"), "stale\n");
  const read = () => readFile(join(swap, "share", "swap.txt"), "utf8");
  const cache = createPackageCache({ root: dir });
  await cache.ensure(A);
  assert.equal(await read(), "one\n");
  await cache.ensure(B);
  assert.equal(await read(), "two\n");
  assert.equal((JSON.parse(await readFile(join(swap, RECORD), "utf8")) as { sha256: string }).sha256, two.record.sha256);
  await createPackageCache({ root: dir }).ensure(A);
  assert.equal(await read(), "one\n");
  assert.deepEqual((await readdir(join(dir, "pkgs"))).sort(), [one.filename, "swap-1.0-h0_0"].sort());
});

test("file:// package URLs are copied and verified from disk", async () => {
  const u = await sharedUniverse();
  const pkg = packages.find((p) => p.filename.endsWith(".tar.bz2")) as LockedPackage;
  const channel = pathToFileURL(join(u.dir, "conda-forge")).href;
  const fileUrl = { ...pkg, channel, url: `${channel}/${pkg.subdir}/${pkg.filename}` };
  const dir = root();
  const got = await createPackageCache({ root: dir }).ensure(fileUrl);
  assert.ok(existsSync(join(got.dir, RECORD)));
  await assert.rejects(createPackageCache({ root: root() }).ensure({ ...fileUrl, sha256: "1".repeat(64) }), (e: unknown) => e instanceof InputError && e.code === "package.checksum");
});

test("leftovers of a crashed process (its lock, a .part, a half-extracted folder) do not break the next run", async () => {
  const dir = root();
  const pkgs = join(dir, "pkgs");
  const pkg = packages.find((p) => p.filename.endsWith(".conda")) as LockedPackage;
  const stem = `${pkg.name}-${pkg.version}-${pkg.build}`;
  await mkdir(pkgs, { recursive: true });
  const job = join(dir, "hold.json");
  await writeFile(job, JSON.stringify({ mode: "hold-lock", lockPath: join(pkgs, `${stem}.lock`) }));
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, job], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => createInterface({ input: child.stdout }).once("line", () => resolve()));
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited;
  await writeFile(join(pkgs, `${pkg.filename}.part`), Buffer.alloc(1000, 0x42));
  await mkdir(join(pkgs, `.${stem}.extract-99999-deadbeef`, "info"), { recursive: true });
  await writeFile(join(pkgs, `.${stem}.extract-99999-deadbeef`, "info", "index.json"), "{");
  // Another package's leftover, hours old: swept too.
  const other = join(pkgs, ".other-1.0-0.extract-99999-cafebabe");
  await mkdir(other);
  const hoursAgo = new Date(Date.now() - 3 * 3600_000);
  await utimes(other, hoursAgo, hoursAgo);

  const lines: string[] = [];
  const started = Date.now();
  const got = await createPackageCache({ root: dir, log: (l) => lines.push(l) }).ensure(pkg);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  assert.match(lines.join("\n"), /broke the stale lock/);
  assert.deepEqual(await listing(got.dir, (r) => r === RECORD), await expectedTree(pkg, got.archive));
  assert.deepEqual((await readdir(pkgs)).sort(), [pkg.filename, stem].sort());
});

test("four processes racing on one cache: all succeed, each archive is downloaded once, the trees are complete", async () => {
  const dir = root();
  const job = join(tmp, "race.json");
  // One archive per name-version-build (the universe has some in both formats; a lock never does).
  const stems = new Map(packages.map((p) => [`${p.name}-${p.version}-${p.build}`, p]));
  const set = [...stems.values()];
  await writeFile(job, JSON.stringify({ mode: "ensure", root: dir, packages: set, concurrency: 4 }));
  universe.hook(/\.(conda|tar\.bz2)$/, { kind: "delay", ms: 20 });
  const mark = universe.requests.length;
  const children = Array.from({ length: 4 }, () => spawn(process.execPath, ["--import", "tsx", CHILD, job], { stdio: ["pipe", "pipe", "pipe"] }));
  const results = children.map((child) => {
    const lines = createInterface({ input: child.stdout });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const ready = new Promise<void>((resolve) => lines.once("line", () => resolve()));
    const output = new Promise<string>((resolve) => lines.on("line", (l) => l !== "ready" && resolve(l)));
    const code = new Promise<number | null>((resolve) => child.once("exit", resolve));
    return { ready, output, code, stderr: () => stderr };
  });
  await Promise.all(results.map((r) => r.ready));
  for (const child of children) child.stdin.end("go\n");
  const codes = await Promise.all(results.map((r) => r.code));
  universe.clearHooks();
  codes.forEach((c, i) => assert.equal(c, 0, `child ${i} failed: ${results[i]?.stderr()}`));
  const outputs = await Promise.all(results.map((r) => r.output));
  const expectedDirs = set.map((p) => join(dir, "pkgs", `${p.name}-${p.version}-${p.build}`)).sort();
  for (const out of outputs) assert.deepEqual(JSON.parse(out), expectedDirs);

  const perFile = new Map<string, number>();
  for (const r of downloads(universe, mark)) perFile.set(r.url, (perFile.get(r.url) ?? 0) + 1);
  assert.equal(perFile.size, set.length);
  assert.deepEqual([...perFile].filter(([, n]) => n !== 1), [], "each archive downloaded exactly once");

  for (const pkg of set) {
    const entry = join(dir, "pkgs", `${pkg.name}-${pkg.version}-${pkg.build}`);
    assert.deepEqual(await listing(entry, (r) => r === RECORD), await expectedTree(pkg, join(dir, "pkgs", pkg.filename)), pkg.filename);
    assert.equal((JSON.parse(await readFile(join(entry, RECORD), "utf8")) as { sha256: string }).sha256, pkg.sha256);
  }
  assert.deepEqual((await readdir(join(dir, "pkgs"))).filter((n) => n.startsWith(".") || n.endsWith(".lock") || n.endsWith(".part")), [], "no temp file, lock or part left");
});
