// Shared by the pack tests: a lock of the fixture universe installed into a prefix, and running
// the system tar and conda-unpack on an archive.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { installLock } from "../../../src/builder/install/install.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import type { Lock } from "../../../src/builder/lock/types.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import { effectiveSpec } from "../../support/effective.ts";

export interface FixtureEnv {
  universe: Universe;
  lock: Lock;
  cacheDir: string;
  close(): Promise<void>;
}

/** The packages the pack tests install: text and binary placeholders, noarch python with an entry point, softlinks. */
export function packDependencies(universe: Universe): string[] {
  return ["python 3.11.*", "numpy", "requests", "hello-prefix", "linkdemo", ...(universe.hasCompiler ? ["prefix-bin"] : [])];
}

export async function fixtureLock(work: string, deps?: string[], platforms: string[] = ["linux-64"]): Promise<FixtureEnv> {
  const universe = await sharedUniverse();
  const server = await serveChannels(universe.dir);
  try {
    const spec = effectiveSpec(server.url, deps ?? packDependencies(universe), { platforms });
    const { lock } = await solveEnvironment(spec, { gateway: createRepodataGateway({ cacheDir: join(work, "repodata") }), virtualPackages: DEFAULT_VIRTUAL_PACKAGES });
    const cacheDir = join(work, "cache");
    // Download every package once while the server runs; later installs are served by the cache.
    await installLock(lock, { prefix: join(work, "warm-up"), platform: "linux-64", cache: createPackageCache({ root: cacheDir }), concurrency: 4, linkScripts: false });
    return { universe, lock, cacheDir, close: () => server.close() };
  } catch (e) {
    await server.close();
    throw e;
  }
}

export async function installFixture(env: FixtureEnv, prefix: string, compilePython = true): Promise<void> {
  await mkdir(join(prefix, ".."), { recursive: true });
  await installLock(env.lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: env.cacheDir }), concurrency: 4, linkScripts: false, compilePython });
}

/** `tar -xzf archive -C dir` with the system tar. */
export async function extract(archive: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  execFileSync("tar", ["-xzf", archive, "-C", dir], { stdio: "pipe" });
}

/** Runs `<shell> <dir>/bin/conda-unpack` from `cwd`. */
export function unpack(dir: string, shell = "sh", cwd = "/"): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(shell, [join(dir, "bin", "conda-unpack")], { encoding: "utf8", cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Files under `dir` whose content holds `needle` (grep -r, which does not follow links). */
export function filesHolding(dir: string, needle: string): string[] {
  const r = spawnSync("grep", ["-r", "-l", "-F", "--", needle, dir], { encoding: "utf8" });
  if (r.status !== 0 && r.status !== 1) throw new Error(`grep failed: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}
