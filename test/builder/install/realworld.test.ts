/** Real conda-forge packages (../shared/realworld): condaops must solve, install and run them, not only its own fixtures. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { installLock } from "../../../src/builder/install/install.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { InfraError } from "../../../src/errors.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { effectiveSpec } from "../../support/effective.ts";

const REALWORLD = resolve(process.cwd(), "../shared/realworld");
const available = existsSync(join(REALWORLD, "conda-forge-subset", "linux-64", "repodata.json"));
let server: ChannelServer;
let work: string;

before(async () => {
  if (!available) return;
  server = await serveChannels(REALWORLD);
  work = await mkdtemp(join(tmpdir(), "condaops-realworld-"));
});
after(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const spec = (deps: string[]) => effectiveSpec(server.url, deps, { channels: [`${server.url}/conda-forge-subset`] });
const solve = async (deps: string[]) => (await solveEnvironment(spec(deps), { gateway: createRepodataGateway({ cacheDir: join(work, "cache") }), virtualPackages: DEFAULT_VIRTUAL_PACKAGES })).lock;

test("real conda-forge xz solves, installs, and runs", { skip: available ? false : `the real-world channel is missing (${REALWORLD})` }, async () => {
  const lock = await solve(["xz"]);
  assert.deepEqual(lock.packages.map((p) => p.name).sort(), ["_libgcc_mutex", "_openmp_mutex", "libgcc", "libgcc-ng", "libgomp", "xz"]);
  const prefix = join(work, "envs", "xz");
  await installLock(lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: join(work, "cache") }), concurrency: 4, linkScripts: false });
  assert.match(execFileSync(join(prefix, "bin", "xz"), ["--version"], { encoding: "utf8" }), /xz \(XZ Utils\) 5\.2\.6/);
  assert.ok((await readdir(join(prefix, "conda-meta"))).some((f) => f.startsWith("xz-5.2.6-")));
});

test("the repodata, not the archive, decides: tk's patched record allows libzlib 1.3", { skip: available ? false : `the real-world channel is missing (${REALWORLD})` }, async () => {
  const lock = await solve(["tk", "libzlib >=1.3"]);
  assert.ok(lock.packages.some((p) => p.name === "tk"));
  assert.match(lock.packages.find((p) => p.name === "libzlib")?.version ?? "", /^1\.3/);
});

test("a package listed in repodata but missing on the server is an exit-3 error, and no prefix is made", { skip: available ? false : `the real-world channel is missing (${REALWORLD})` }, async () => {
  const lock = await solve(["python 3.12.*"]);
  const prefix = join(work, "envs", "python");
  await assert.rejects(
    installLock(lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: join(work, "cache") }), concurrency: 4, linkScripts: false }),
    (e: unknown) => e instanceof InfraError && e.exitCode === 3 && /python-3\.12/.test(e.message) && /404/.test(e.message),
  );
  assert.equal(existsSync(prefix), false);
});
