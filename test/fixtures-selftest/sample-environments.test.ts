// Every sample environment in environments/ (with environments/policy.yaml applied) locks against
// the fixture universe, so the README's walkthrough and the CLI tests can use any of them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCondaLock } from "../../src/builder/lock/conda-lock-v1.ts";
import type { LockedPackage } from "../../src/builder/lock/types.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { runCli } from "../support/run-cli.ts";

let server: ChannelServer;
let work: string;
let config: string;

before(async () => {
  server = await serveChannels((await sharedUniverse()).dir);
  work = await mkdtemp(join(tmpdir(), "condaops-samples-"));
  config = join(work, "condaops.config.yaml");
  await writeFile(config, `cache_dir: ${join(work, "cache")}\n`);
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/** Locks `environments/<env>.yaml`; returns the locked packages by platform, then by name. */
async function lock(env: string): Promise<Map<string, Map<string, LockedPackage>>> {
  const out = join(work, `${env.replace("/", "-")}.lock.yml`);
  const r = await runCli("lock", `environments/${env}.yaml`, "--channel-alias", server.url, "-o", out, "--config", config);
  assert.equal(r.code, 0, `${env}: ${r.stderr}`);
  const parsed = parseCondaLock(out, await readFile(out, "utf8"));
  assert.deepEqual(parsed.sources, [`${env}.yaml`]);
  const byPlatform = new Map<string, Map<string, LockedPackage>>();
  for (const p of parsed.packages.filter((x) => x.manager === "conda")) {
    const m = byPlatform.get(p.platform) ?? new Map<string, LockedPackage>();
    m.set(p.name, p);
    byPlatform.set(p.platform, m);
  }
  return byPlatform;
}

const has = (pkgs: Map<string, LockedPackage> | undefined, names: string[]): void => {
  assert.ok(pkgs, "the platform is in the lock");
  for (const n of names) assert.ok(pkgs.has(n), `${n} in the lock`);
};
const minor = (pkgs: Map<string, LockedPackage>, name: string): string => (pkgs.get(name)?.version ?? "").split(".").slice(0, 2).join(".");

test("data-science/analytics locks with the namespace's ipykernel", async () => {
  const l = (await lock("data-science/analytics")).get("linux-64");
  has(l, ["python", "numpy", "pandas", "scipy", "scikit-learn", "matplotlib-base", "seaborn", "pyarrow", "jupyterlab", "ipykernel"]);
  assert.equal(minor(l!, "python"), "3.11");
});

test("data-science/nlp locks a CPU pytorch, transformers and datasets", async () => {
  const l = (await lock("data-science/nlp")).get("linux-64");
  has(l, ["python", "pip", "pytorch", "transformers", "datasets", "ipykernel"]);
  assert.equal(minor(l!, "python"), "3.11");
  assert.match(l!.get("pytorch")!.build, /^cpu_py311/);
  assert.ok(!l!.has("cuda-version"), "no CUDA without __cuda");
  assert.equal(l!.get("transformers")?.version, "4.41.2");
  assert.equal(l!.get("fsspec")?.version, "2024.3.1", "datasets caps fsspec at 2024.3.1");
});

test("geo/gdal locks on python 3.12", async () => {
  const l = (await lock("geo/gdal")).get("linux-64");
  has(l, ["python", "gdal", "libgdal", "libgdal-arrow-parquet", "rasterio", "geopandas", "shapely", "pyproj", "pandas", "ipykernel"]);
  assert.equal(minor(l!, "python"), "3.12");
  assert.match(l!.get("gdal")!.build, /^py312/);
  assert.equal(l!.get("libgdal")?.version, "3.9.0", "only libgdal 3.9 has the Parquet driver");
});

test("ml/gpu locks a CUDA 12 pytorch (CONDA_OVERRIDE_CUDA=12)", async () => {
  const l = (await lock("ml/gpu")).get("linux-64");
  has(l, ["python", "pytorch", "cuda-version", "torchvision", "lightning", "ipykernel"]);
  assert.match(l!.get("pytorch")!.build, /^cuda/);
  assert.equal(l!.get("cuda-version")?.version, "12.0", "cuda-cudart 12.0 pins cuda-version <12.1");
  assert.equal(l!.get("numpy")?.version, "1.26.4", "lightning 2.2 needs numpy <2");
  assert.match(l!.get("torchvision")!.build, /^cuda/);
});

test("tools/cli locks for all three of its platforms", async () => {
  const locked = await lock("tools/cli");
  assert.deepEqual([...locked.keys()].sort(), ["linux-64", "linux-aarch64", "osx-arm64"]);
  for (const l of locked.values()) {
    has(l, ["ripgrep", "jq", "go-yq", "git", "curl"]);
    assert.ok(!l.has("python"), "no python");
  }
});
