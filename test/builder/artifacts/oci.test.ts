// The `oci` artifact from real installed prefixes (the fixture universe, installed by condaops):
// an image archive that skopeo and umoci accept, whose environment is moved to
// /opt/conda/envs/<name> (its programs print that prefix), reproducible across reinstalls,
// pushed to a real registry (by afterStored, once the build stored everything, never by make)
// and built on a base image pulled from it. Installed at a path shorter than the image's, its
// binaries are rewritten from the package cache's originals.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ociArtifact } from "../../../src/builder/artifacts/oci.ts";
import type { ArtifactFile, ArtifactInput, StoredArtifact } from "../../../src/builder/artifacts/types.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { installLock } from "../../../src/builder/install/install.ts";
import { environmentHash } from "../../../src/builder/lock/environment-hash.ts";
import type { Lock } from "../../../src/builder/lock/types.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { InputError } from "../../../src/errors.ts";
import type { EffectiveSpec } from "../../../src/spec/types.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { effectiveSpec } from "../../support/effective.ts";
import { startRegistry, toolMissing } from "../../support/oci-registry.ts";
import { makeBaseLayout } from "../oci/helpers.ts";

const COMMIT_A = "a".repeat(40);
const COMMIT_B = "b".repeat(40);
const TARGET = "/opt/conda/envs/env";

let universe: Universe;
let server: ChannelServer;
let work: string;
let lock: Lock;
let effective: EffectiveSpec;
let hash: string;
let deps: string[];
/** Two installs of the same lock in different state folders, as two workers' rebuilds would make. */
let prefixA: string;
let prefixB: string;

before(async () => {
  universe = await sharedUniverse();
  server = await serveChannels(universe.dir);
  work = await mkdtemp(join(tmpdir(), "condaops-oci-artifact-"));
  deps = ["python 3.11.*", "requests", "hello-prefix", "linkdemo", ...(universe.hasCompiler ? ["prefix-bin"] : [])];
  effective = effectiveSpec(server.url, deps, { namespace: "team", name: "env", description: "test environment" });
  lock = (await solveEnvironment(effective, { gateway: createRepodataGateway({ cacheDir: join(work, "cache") }), virtualPackages: DEFAULT_VIRTUAL_PACKAGES })).lock;
  hash = environmentHash(lock, "linux-64");
  prefixA = join(work, "state-a", "builds", `${hash.slice(0, 12)}-env`);
  prefixB = join(work, "other-state", "builds", `${hash.slice(0, 12)}-env`);
  for (const prefix of [prefixA, prefixB]) {
    await installLock(lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: join(work, "cache") }), concurrency: 4, linkScripts: false, requested: deps });
  }
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

function input(extra: Partial<ArtifactInput> & { logs?: string[] } = {}): ArtifactInput {
  const { logs, ...rest } = extra;
  return {
    namespace: "team",
    name: "env",
    commit: COMMIT_A,
    commitDate: "2024-05-06T07:08:09Z",
    effective,
    lock,
    installed: { prefix: prefixA, platform: "linux-64", environmentHash: hash },
    repository: "https://git.example.org/environments.git",
    workDir: join(work, "scratch", String(Math.random()).slice(2)),
    cacheDir: join(work, "cache"),
    oci: { credentials: [], insecureRegistries: [] },
    log: (l) => logs?.push(l),
    ...rest,
  };
}

/** Writes the artifact's body to a file, as publishing would. */
async function save(file: ArtifactFile, to: string): Promise<string> {
  assert.equal(typeof file.body, "function");
  await pipeline((file.body as () => Readable)(), createWriteStream(to));
  return to;
}

/** The archive's index.json and manifest, read with tar (no image tool needed). */
async function manifestOf(archive: string): Promise<{ digest: string; layers: string[]; config: { created: string; config: { Env: string[]; Labels: Record<string, string> } } }> {
  const dir = await mkdtemp(join(work, "x-"));
  execFileSync("tar", ["-xf", archive, "-C", dir]);
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  const digest = index.manifests[0]?.digest ?? "";
  const blob = async (d: string) => JSON.parse(await readFile(join(dir, "blobs", "sha256", d.slice(7)), "utf8")) as Record<string, unknown>;
  const manifest = (await blob(digest)) as { config: { digest: string }; layers: { digest: string }[] };
  return { digest, layers: manifest.layers.map((l) => l.digest), config: (await blob(manifest.config.digest)) as { created: string; config: { Env: string[]; Labels: Record<string, string> } } };
}

/** Files under `dir` (recursively) whose content contains `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? entry.path, entry.name);
    if ((await readFile(path)).includes(needle)) out.push(path);
  }
  return out;
}

test("the image archive is valid for skopeo and umoci; the environment runs from /opt/conda/envs/<name>", async (t) => {
  const logs: string[] = [];
  const files = await ociArtifact.make(input({ logs }));
  assert.equal(files.length, 1);
  const file = files[0] as ArtifactFile;
  assert.equal(file.kind, "oci");
  assert.equal(file.file, "image.oci.tar");
  assert.equal(file.platform, "linux-64");
  const archive = await save(file, join(work, "a.oci.tar"));
  const { config } = await manifestOf(archive);
  assert.ok(config.config.Env.includes(`PATH=${TARGET}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`));
  assert.ok(config.config.Env.includes(`CONDA_PREFIX=${TARGET}`));
  assert.equal(config.created, "2024-05-06T07:08:09Z", "dated by the commit");
  assert.equal(config.config.Labels["org.opencontainers.image.revision"], COMMIT_A);
  assert.equal(config.config.Labels["org.opencontainers.image.title"], "team/env");
  assert.equal(config.config.Labels["org.opencontainers.image.source"], "https://git.example.org/environments.git");
  assert.equal(config.config.Labels["dev.condaops.environment-hash"], hash);
  assert.match(config.config.Labels["dev.condaops.spec-hash"] ?? "", /^[0-9a-f]{64}$/);
  assert.match(logs.join("\n"), /oci: image sha256:[0-9a-f]{64}/);

  const skip = toolMissing("skopeo", "umoci");
  if (skip) {
    t.skip(skip);
    return;
  }
  const inspected = JSON.parse(execFileSync("skopeo", ["inspect", `oci-archive:${archive}`], { encoding: "utf8" })) as { Digest: string; Architecture: string; Os: string };
  assert.equal(inspected.Architecture, "amd64");
  assert.equal(inspected.Os, "linux");
  execFileSync("skopeo", ["copy", "--quiet", `oci-archive:${archive}`, `dir:${join(work, "copied")}`]);
  const layout = join(work, "layout");
  await mkdir(layout);
  execFileSync("tar", ["-xf", archive, "-C", layout]);
  const bundle = join(work, "bundle");
  execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:${COMMIT_A}`, bundle]);
  const env = join(bundle, "rootfs", "opt", "conda", "envs", "env");
  const records = (await readdir(join(env, "conda-meta"))).filter((f) => f.endsWith(".json"));
  assert.equal(records.length, lock.packages.filter((p) => p.platform === "linux-64").length);
  // The fixture programs print their prefix: the image's, read from their (rewritten) files.
  assert.equal(execFileSync("sh", [join(env, "bin", "hello-prefix")], { encoding: "utf8" }).trim(), TARGET);
  if (universe.hasCompiler) assert.equal(execFileSync(join(env, "bin", "prefix-bin"), { encoding: "utf8" }).trim(), `${TARGET}/share/prefix-bin/data`);
  else t.diagnostic("binary placeholder not checked: no C compiler (cc) on this machine");
  assert.deepEqual(await filesContaining(env, prefixA), [], "no trace of the build prefix");
});

test("two builds of the same environment give the same image digest; another commit, the same layer", async () => {
  const a = await manifestOf(await save((await ociArtifact.make(input()))[0] as ArtifactFile, join(work, "r1.oci.tar")));
  const b = await manifestOf(await save((await ociArtifact.make(input({ installed: { prefix: prefixB, platform: "linux-64", environmentHash: hash } })))[0] as ArtifactFile, join(work, "r2.oci.tar")));
  assert.equal(a.digest, b.digest, "same environment, same commit, reinstalled elsewhere: same manifest");
  const c = await manifestOf(await save((await ociArtifact.make(input({ commit: COMMIT_B })))[0] as ArtifactFile, join(work, "r3.oci.tar")));
  assert.deepEqual(c.layers, a.layers, "the environment layer does not depend on the commit");
  assert.notEqual(c.digest, a.digest, "the revision label does");
});

test("non-linux platforms are skipped with a log line", async () => {
  const logs: string[] = [];
  assert.deepEqual(await ociArtifact.make(input({ installed: { prefix: prefixA, platform: "osx-arm64", environmentHash: hash }, logs })), []);
  assert.match(logs.join("\n"), /oci: skipped: images are made for linux platforms, this build installed osx-arm64/);
});

test("pushed to <push>/<namespace>/<name>:<commit> on a real registry by afterStored, not by make; on a base image pulled from it", { skip: toolMissing("docker-registry", "skopeo") }, async () => {
  const registry = await startRegistry();
  try {
    const base = await makeBaseLayout(join(work, "base"));
    execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${base.dir}:${base.tag}`, `docker://${registry.host}/images/base:1`]);
    const logs: string[] = [];
    const oci = { base: `${registry.host}/images/base:1`, push: `${registry.host}/condaops`, credentials: [], insecureRegistries: [registry.host] };
    const made = input({ oci, logs });
    const files = await ociArtifact.make(made);
    const { digest, layers } = await manifestOf(await save(files[0] as ArtifactFile, join(work, "pushed.oci.tar")));
    assert.equal(layers[0], base.layerDigest, "the base layer first");
    const tagged = `docker://${registry.host}/condaops/team/env:${COMMIT_A}`;
    const inspect = () => spawnSync("skopeo", ["inspect", "--tls-verify=false", tagged], { encoding: "utf8" });
    assert.notEqual(inspect().status, 0, "make() pushes nothing: the build may still fail");
    assert.ok(!logs.some((l) => l.includes("pushed")), logs.join("\n"));

    // The build calls the hook once every artifact is stored, with make()'s input (its workDir still there).
    assert.ok(ociArtifact.afterStored, "the oci maker pushes after storing");
    const stored: StoredArtifact[] = [{ kind: "oci", file: "image.oci.tar", platform: "linux-64", key: `builds/team/env/${COMMIT_A}/oci/image.oci.tar`, size: 1, sha256: "0".repeat(64) }];
    const reference = `${registry.host}/condaops/team/env@${digest}`;
    assert.deepEqual(await ociArtifact.afterStored(made, stored), [reference]);
    assert.ok(logs.some((l) => l.includes(`pushed ${registry.host}/condaops/team/env:${COMMIT_A} as ${reference}`)), logs.join("\n"));
    execFileSync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${reference}`, `dir:${join(work, "pulled")}`]);
    const pulled = JSON.parse(await readFile(join(work, "pulled", "manifest.json"), "utf8")) as { layers: { digest: string }[] };
    assert.deepEqual(pulled.layers.map((l) => l.digest), layers, "pulled back by digest: the image that was made");
    const tag = JSON.parse(inspect().stdout) as { Digest: string };
    assert.equal(tag.Digest, digest);

    // Nothing of this maker stored (the build skipped it or the platform is not linux): nothing pushed.
    assert.deepEqual(await ociArtifact.afterStored({ ...made, commit: COMMIT_B }, []), []);
    const other = input({ oci, installed: { prefix: prefixA, platform: "osx-arm64", environmentHash: hash } });
    assert.deepEqual(await ociArtifact.make(other), []);
    assert.deepEqual(await ociArtifact.afterStored(other, stored), []);
  } finally {
    await registry.stop();
  }
});

test("installed at a path shorter than /opt/conda/envs/<name>: binaries come from the package cache's originals; without them, a clear error", async (t) => {
  if (!universe.hasCompiler) return t.skip("no C compiler (cc) on this machine: the fixture universe has no binary-placeholder package prefix-bin");
  const skip = toolMissing("umoci");
  if (skip) return t.skip(skip);
  const short = await mkdtemp("/tmp/o");
  try {
    const prefix = join(short, "e");
    assert.ok(Buffer.byteLength(prefix) < Buffer.byteLength(TARGET), `${prefix} is shorter than ${TARGET}`);
    // A cache of its own: its original of prefix-bin is removed below.
    const cacheDir = join(short, "c");
    await installLock(lock, { prefix, platform: "linux-64", cache: createPackageCache({ root: cacheDir }), concurrency: 4, linkScripts: false, requested: deps });
    const installed = { prefix, platform: "linux-64", environmentHash: hash };

    const logs: string[] = [];
    const archive = await save((await ociArtifact.make(input({ installed, cacheDir, logs })))[0] as ArtifactFile, join(work, "short.oci.tar"));
    assert.match(logs.join("\n"), /oci: environment layer .* [1-9]\d* of them binaries from the package cache's originals/);
    const layout = join(work, "short-layout");
    await mkdir(layout);
    execFileSync("tar", ["-xf", archive, "-C", layout]);
    const bundle = join(work, "short-bundle");
    execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:${COMMIT_A}`, bundle]);
    const env = join(bundle, "rootfs", "opt", "conda", "envs", "env");
    assert.equal(execFileSync(join(env, "bin", "prefix-bin"), { encoding: "utf8" }).trim(), `${TARGET}/share/prefix-bin/data`);
    assert.equal(execFileSync("sh", [join(env, "bin", "hello-prefix")], { encoding: "utf8" }).trim(), TARGET);
    assert.deepEqual(await filesContaining(env, prefix), [], "no trace of the build prefix");
    const meta = (await readdir(join(env, "conda-meta"))).find((f) => f.startsWith("prefix-bin-") && f.endsWith(".json")) ?? "";
    const record = JSON.parse(await readFile(join(env, "conda-meta", meta), "utf8")) as { paths_data: { paths: { _path: string; sha256_in_prefix?: string }[] } };
    const exe = await readFile(join(env, "bin", "prefix-bin"));
    assert.equal(record.paths_data.paths.find((p) => p._path === "bin/prefix-bin")?.sha256_in_prefix, createHash("sha256").update(exe).digest("hex"), "conda-meta describes the image's file");
    // The layer is the one a long build prefix gives (prefixA, rewritten the same way).
    const fromA = await manifestOf(await save((await ociArtifact.make(input()))[0] as ArtifactFile, join(work, "a-again.oci.tar")));
    assert.deepEqual((await manifestOf(archive)).layers, fromA.layers, "the same layer as an install at a longer path");

    // Without the original (the package's folder gone from the cache), the installed copy's short prefix limits the image's.
    const [pkg, ...others] = (await readdir(join(cacheDir, "pkgs"), { withFileTypes: true })).filter((d) => d.isDirectory() && d.name.startsWith("prefix-bin-"));
    assert.ok(pkg && others.length === 0, "one extracted prefix-bin in the cache");
    await rm(join(cacheDir, "pkgs", pkg.name), { recursive: true });
    await assert.rejects(
      ociArtifact.make(input({ installed, cacheDir })),
      (e: unknown) => e instanceof InputError && e.code === "oci.prefix-too-long" && e.message.includes("bin/prefix-bin") && e.message.includes(prefix) && e.message.includes("package cache has no original"),
    );
  } finally {
    await rm(short, { recursive: true, force: true });
  }
});
