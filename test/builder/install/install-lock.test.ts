import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, mkdir, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { installLock } from "../../../src/builder/install/install.ts";
import type { InstallOptions } from "../../../src/builder/install/install.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import type { Lock } from "../../../src/builder/lock/types.ts";
import { serializeCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { installOrder } from "../../../src/builder/lock/explicit.ts";
import type { Progress } from "../../../src/builder/progress.ts";
import { InputError } from "../../../src/errors.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { effectiveSpec } from "../../support/effective.ts";

let universe: Universe;
let server: ChannelServer;
let work: string;
let lock: Lock;

before(async () => {
  universe = await sharedUniverse();
  server = await serveChannels(universe.dir);
  work = await mkdtemp(join(tmpdir(), "condaops-install-"));
  const deps = ["python 3.11.*", "numpy", "requests", "hello-prefix", "linkdemo", "postlink-demo", ...(universe.hasCompiler ? ["prefix-bin"] : [])];
  lock = (await solveEnvironment(effectiveSpec(server.url, deps), { gateway: createRepodataGateway({ cacheDir: join(work, "cache") }), virtualPackages: DEFAULT_VIRTUAL_PACKAGES })).lock;
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

function options(prefix: string, extra: Partial<InstallOptions> = {}): InstallOptions {
  return { prefix, platform: "linux-64", cache: createPackageCache({ root: join(work, "cache") }), concurrency: 4, linkScripts: false, ...extra };
}
const downloads = (since: number) => server.requests.slice(since).filter((r) => /\.(conda|tar\.bz2)$/.test(r.url)).length;

test("a lock installs into a prefix whose programs run and that conda tools can read", async (t) => {
  const prefix = join(work, "envs", "full");
  const r = await installLock(lock, options(prefix, { requested: ["python 3.11.*", "numpy", "requests"], variables: { MY_VAR: "1" } }));
  assert.equal(r.packages, lock.packages.length);
  assert.equal(execFileSync(join(prefix, "bin", "hello-prefix"), { encoding: "utf8" }).trim(), prefix, "text placeholder replaced by the final prefix");
  assert.match(execFileSync(join(prefix, "bin", "requests-cli"), { encoding: "utf8" }), /requests-cli 2\.32\.3/, "noarch python entry point runs");
  assert.equal(execFileSync(join(prefix, "bin", "python"), ["-c", "import numpy; print(numpy.__version__)"], { encoding: "utf8" }).trim(), lock.packages.find((p) => p.name === "numpy")?.version);
  if (universe.hasCompiler) assert.equal(execFileSync(join(prefix, "bin", "prefix-bin"), { encoding: "utf8" }).trim(), `${prefix}/share/prefix-bin/data`, "binary placeholder");
  else t.diagnostic("binary placeholder not checked: no C compiler (cc) on this machine");
  const meta = (await readdir(join(prefix, "conda-meta"))).filter((f) => f.endsWith(".json"));
  assert.equal(meta.length, lock.packages.length);
  const numpy = JSON.parse(await readFile(join(prefix, "conda-meta", meta.find((f) => f.startsWith("numpy-")) as string), "utf8")) as Record<string, unknown>;
  assert.equal(numpy.requested_spec, "numpy");
  assert.equal(numpy.sha256, lock.packages.find((p) => p.name === "numpy")?.sha256);
  assert.match(await readFile(join(prefix, "conda-meta", "history"), "utf8"), /\+.*numpy-/);
  assert.deepEqual(JSON.parse(await readFile(join(prefix, "conda-meta", "state"), "utf8")).env_vars, { MY_VAR: "1" });
  assert.ok(!existsSync(join(prefix, "share", "postlink-demo", "post-link-ran")), "link scripts are off by default");
  assert.deepEqual((await readdir(join(work, "envs"))).filter((n) => n.includes(".partial-")), [], "no partial folder left");
});

test("a second install from the same cache downloads nothing", async () => {
  await installLock(lock, options(join(work, "envs", "first")));
  const mark = server.requests.length;
  await installLock(lock, options(join(work, "envs", "second")));
  assert.equal(downloads(mark), 0);
});

test("post-link scripts run when enabled, in the final prefix", async () => {
  const prefix = join(work, "envs", "scripts");
  await installLock(lock, options(prefix, { linkScripts: true }));
  assert.equal((await readFile(join(prefix, "share", "postlink-demo", "post-link-ran"), "utf8")).trim(), "postlink-demo 1.0");
});

test("a bad package fails the install and leaves neither a prefix nor a partial folder", async () => {
  const broken: Lock = { ...lock, packages: lock.packages.map((p) => (p.name === "requests" ? { ...p, sha256: "0".repeat(64) } : p)) };
  const prefix = join(work, "envs", "broken");
  await assert.rejects(installLock(broken, options(prefix, { cache: createPackageCache({ root: join(work, "cache-broken") }) })), (e: unknown) => e instanceof InputError && /sha256/.test(e.message));
  assert.equal(existsSync(prefix), false);
  assert.deepEqual((await readdir(join(work, "envs"))).filter((n) => n.startsWith("broken")), []);
});

test("packages are linked while later ones still download; a failure of the last leaves nothing", async () => {
  const order = installOrder(lock.packages.filter((p) => p.platform === "linux-64" && p.manager === "conda"));
  const last = order[order.length - 1] as Lock["packages"][number];
  const events: string[] = [];
  const progress: Progress = { phase: (name) => ({ tick: (n = 1) => void events.push(`${name} tick ${n}`), addTotal: () => undefined, done: () => void events.push(`${name} done`) }) };
  server.hook(new RegExp(`/${last.filename.replace(/[.+]/g, "\\$&")}$`), { kind: "delay", ms: 1500 });
  try {
    const prefix = join(work, "envs", "overlap");
    await installLock(lock, options(prefix, { cache: createPackageCache({ root: join(work, "cache-overlap") }), progress }));
    // Phases are reported in turn; the link phase opens counting the packages linked while the last one downloaded.
    const first = events.findIndex((e) => e.startsWith("link tick"));
    assert.ok(first > events.indexOf("fetch done"), events.join(", "));
    assert.ok(Number(events[first]?.split(" ")[2]) >= 1, events.join(", "));
    assert.equal((await readdir(join(prefix, "conda-meta"))).filter((f) => f.endsWith(".json")).length, order.length);

    const broken: Lock = { ...lock, packages: lock.packages.map((p) => (p === last ? { ...p, sha256: "0".repeat(64) } : p)) };
    const failed = join(work, "envs", "overlap-broken");
    events.length = 0;
    await assert.rejects(installLock(broken, options(failed, { cache: createPackageCache({ root: join(work, "cache-overlap-broken") }), progress })), (e: unknown) => e instanceof InputError && /sha256/.test(e.message));
    assert.equal(existsSync(failed), false);
    assert.deepEqual((await readdir(join(work, "envs"))).filter((n) => n.startsWith("overlap-broken")), [], "no partial folder left");
  } finally {
    server.clearHooks();
  }
});

test("an existing prefix is never overwritten; a too-long prefix is refused before any work", async () => {
  const prefix = join(work, "envs", "exists");
  await mkdir(prefix, { recursive: true });
  await assert.rejects(installLock(lock, options(prefix)), (e: unknown) => e instanceof InputError && e.code === "install.prefix-exists");
  assert.deepEqual(await readdir(prefix), []);
  const mark = server.requests.length;
  await assert.rejects(installLock(lock, options(join(work, "x".repeat(260)))), (e: unknown) => e instanceof InputError && e.code === "install.prefix-too-long");
  assert.equal(server.requests.length, mark, "no request made");
});

test("an install killed mid-way leaves no prefix; partial folders of dead installs are removed by the next", async () => {
  const prefix = join(work, "envs", "killed");
  const lockFile = join(work, "killed.lock.yml");
  await writeFile(lockFile, serializeCondaLock(lock));
  await writeFile(join(work, "killed.config.yaml"), `cache_dir: ${join(work, "cache-killed")}\n`);
  server.hook(/requests-/, { kind: "delay", ms: 20_000, times: 1 });
  const child = spawn(process.execPath, ["bin/condaops.js", "install", lockFile, "--prefix", prefix, "--config", join(work, "killed.config.yaml")], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 3000));
  child.kill("SIGKILL");
  await new Promise((r) => child.once("exit", r));
  assert.equal(existsSync(prefix), false, "no prefix after a kill");
  // Leftovers of installs that died while linking: one with a dead owner, one that never wrote its marker.
  await mkdir(join(work, "envs", "killed.partial-dead0001", "bin"), { recursive: true });
  await writeFile(join(work, "envs", "killed.partial-dead0001", ".condaops-partial"), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname() }));
  await mkdir(join(work, "envs", "killed.partial-nomarker"), { recursive: true });
  const logs: string[] = [];
  await installLock(lock, options(prefix, { log: (l) => logs.push(l) }));
  assert.ok(existsSync(join(prefix, "conda-meta")));
  assert.deepEqual((await readdir(join(work, "envs"))).filter((n) => n.startsWith("killed.partial-")), []);
  assert.match(logs.join("\n"), /removing .*killed\.partial-dead0001/);
});

test("compilePython byte-compiles noarch python packages with the environment's python", async () => {
  const prefix = join(work, "envs", "compiled");
  await installLock(lock, options(prefix, { compilePython: true }));
  const pyVersion = /^(\d+\.\d+)/.exec(lock.packages.find((p) => p.name === "python")?.version ?? "")?.[1] ?? "";
  const cache = join(prefix, "lib", `python${pyVersion}`, "site-packages", "requests", "__pycache__");
  assert.ok(existsSync(cache), `${cache} exists`);
  assert.ok((await readdir(cache)).some((f) => f.endsWith(".pyc")));
  assert.equal(existsSync(join(work, "envs", "full", "lib", `python${pyVersion}`, "site-packages", "requests", "__pycache__")), false, "off by default");
});
