// buildOciArchive on a hand-made prefix: the archive is an image layout that skopeo and umoci
// accept (both verify every blob), its configuration says what the environment is, a base image
// from a local layout is carried over, and the digests are reproducible.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildOciArchive } from "../../../src/builder/oci/build-image.ts";
import type { OciBuildOptions } from "../../../src/builder/oci/build-image.ts";
import { InputError } from "../../../src/errors.ts";
import { toolMissing } from "../../support/oci-registry.ts";
import { makeBaseLayout, makePrefix, readJson } from "./helpers.ts";
import type { BaseLayout } from "./helpers.ts";

let work: string;
let prefix: string;
let base: BaseLayout;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-oci-image-"));
  prefix = join(work, "state", "builds", "0123456789ab-demo");
  await makePrefix(prefix);
  base = await makeBaseLayout(join(work, "base-layout"));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

const options = (extra: Partial<OciBuildOptions> = {}): OciBuildOptions => ({
  prefix,
  name: "demo",
  platform: "linux-64",
  workDir: join(work, "work", String(Math.random()).slice(2)),
  title: "team/demo",
  revision: "1".repeat(40),
  source: "https://git.example.org/envs.git",
  environmentHash: "f".repeat(64),
  ...extra,
});

interface Config {
  architecture: string;
  os: string;
  created: string;
  config: { Env: string[]; Labels: Record<string, string>; Cmd?: string[] };
  rootfs: { diff_ids: string[] };
  history?: { created_by?: string }[];
}

function skopeoInspect(archive: string): { Digest: string; Labels: Record<string, string>; Architecture: string; Os: string; Layers: string[]; Env: string[] } {
  return JSON.parse(execFileSync("skopeo", ["inspect", `oci-archive:${archive}`], { encoding: "utf8" }));
}

test("the archive is an image layout skopeo and umoci accept, with the environment at /opt/conda/envs/<name>", async (t) => {
  const r = await buildOciArchive(options());
  const entries = execFileSync("tar", ["-tf", r.path], { encoding: "utf8" }).trim().split("\n");
  assert.deepEqual(entries.filter((e) => !e.startsWith("blobs/sha256/") || e === "blobs/sha256/"), ["blobs/", "blobs/sha256/", "index.json", "oci-layout"]);
  const index = await readJson<{ manifests: { digest: string; annotations: Record<string, string> }[] }>(join(r.layoutDir, "index.json"));
  assert.equal(index.manifests.length, 1);
  assert.equal(index.manifests[0]?.digest, r.manifestDigest);
  assert.equal(index.manifests[0]?.annotations["org.opencontainers.image.ref.name"], "1".repeat(40));

  const config = await readJson<Config>(join(r.layoutDir, "blobs", "sha256", r.configDigest.slice(7)));
  assert.equal(config.architecture, "amd64");
  assert.equal(config.os, "linux");
  assert.equal(config.created, "1970-01-01T00:00:00Z");
  assert.deepEqual(config.config.Env, ["PATH=/opt/conda/envs/demo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CONDA_PREFIX=/opt/conda/envs/demo", "CONDA_DEFAULT_ENV=demo"]);
  assert.equal(config.config.Labels["org.opencontainers.image.revision"], "1".repeat(40));
  assert.equal(config.config.Labels["org.opencontainers.image.source"], "https://git.example.org/envs.git");
  assert.equal(config.config.Labels["org.opencontainers.image.title"], "team/demo");
  assert.equal(config.config.Labels["dev.condaops.environment-hash"], "f".repeat(64));
  assert.deepEqual(config.rootfs.diff_ids, [r.diffId]);

  const skip = toolMissing("skopeo", "umoci");
  if (skip) {
    t.skip(skip);
    return;
  }
  const inspected = skopeoInspect(r.path);
  assert.equal(inspected.Digest, r.manifestDigest);
  assert.equal(inspected.Architecture, "amd64");
  assert.deepEqual(inspected.Layers, [r.layerDigest]);
  // copy reads and verifies every blob
  const copied = join(work, "copied");
  execFileSync("skopeo", ["copy", "--quiet", `oci-archive:${r.path}`, `dir:${copied}`]);
  assert.ok(existsSync(join(copied, r.layerDigest.slice(7))));
  // umoci on the extracted layout (it verifies blobs too), rootless
  const layout = join(work, "extracted");
  await mkdir(layout);
  execFileSync("tar", ["-xf", r.path, "-C", layout]);
  const bundle = join(work, "bundle");
  execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:${r.tag}`, bundle]);
  const env = join(bundle, "rootfs", "opt", "conda", "envs", "demo");
  assert.ok((await readdir(join(env, "conda-meta"))).includes("demo-1.0-0.json"));
  assert.equal(await readFile(join(env, "bin", "hello"), "utf8"), `#!/bin/sh\necho "/opt/conda/envs/demo"\n`);
});

test("on a base image from a local layout: its layers first, its PATH extended, its labels kept", async (t) => {
  const r = await buildOciArchive(options({ base: `oci-layout:${base.dir}:${base.tag}` }));
  const manifest = await readJson<{ layers: { digest: string }[]; annotations: Record<string, string> }>(join(r.layoutDir, "blobs", "sha256", r.manifestDigest.slice(7)));
  assert.deepEqual(
    manifest.layers.map((l) => l.digest),
    [base.layerDigest, r.layerDigest],
  );
  assert.equal(manifest.annotations["org.opencontainers.image.base.digest"], base.manifestDigest);
  assert.equal(manifest.annotations["org.opencontainers.image.base.name"], undefined, "no local path in the image");
  const config = await readJson<Config>(join(r.layoutDir, "blobs", "sha256", r.configDigest.slice(7)));
  assert.deepEqual(config.rootfs.diff_ids, [base.diffId, r.diffId]);
  assert.deepEqual(config.config.Env, ["LANG=C.UTF-8", "PATH=/opt/conda/envs/demo/bin:/custom/bin:/usr/bin", "CONDA_PREFIX=/opt/conda/envs/demo", "CONDA_DEFAULT_ENV=demo"]);
  assert.equal(config.config.Labels["base.label"], "kept");
  assert.deepEqual(config.config.Cmd, ["/bin/sh"]);
  assert.deepEqual(
    config.history?.map((h) => h.created_by),
    ["test base", "condaops: team/demo"],
  );
  // the same base, named without a tag (the layout holds one image)
  assert.equal((await buildOciArchive(options({ base: `oci-layout:${base.dir}` }))).manifestDigest, r.manifestDigest);

  const skip = toolMissing("skopeo", "umoci");
  if (skip) {
    t.skip(skip);
    return;
  }
  execFileSync("skopeo", ["copy", "--quiet", `oci-archive:${r.path}`, `dir:${join(work, "copied-base")}`]);
  const layout = join(work, "extracted-base");
  await mkdir(layout);
  execFileSync("tar", ["-xf", r.path, "-C", layout]);
  const bundle = join(work, "bundle-base");
  execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:${r.tag}`, bundle]);
  assert.equal(await readFile(join(bundle, "rootfs", "etc", "os-release"), "utf8"), "ID=condaops-test\n");
  assert.ok(existsSync(join(bundle, "rootfs", "opt", "conda", "envs", "demo", "bin", "hello")));
});

test("reproducible: the same environment at the same commit gives the same archive; another commit, the same layer", async () => {
  const other = join(work, "elsewhere", "builds", "0123456789ab-demo");
  await makePrefix(other);
  const a = await buildOciArchive(options());
  const b = await buildOciArchive(options({ prefix: other }));
  assert.equal(a.manifestDigest, b.manifestDigest);
  assert.deepEqual(await readFile(a.path), await readFile(b.path));
  const c = await buildOciArchive(options({ revision: "2".repeat(40) }));
  assert.equal(c.layerDigest, a.layerDigest);
  assert.equal(c.diffId, a.diffId);
  assert.notEqual(c.manifestDigest, a.manifestDigest);
});

test("platforms: linux-aarch64 is arm64; non-linux platforms and names that cannot be folders are refused", async () => {
  const arm = await buildOciArchive(options({ platform: "linux-aarch64" }));
  assert.equal(arm.platform.architecture, "arm64");
  await assert.rejects(buildOciArchive(options({ platform: "osx-arm64" })), (e: unknown) => e instanceof InputError && e.code === "oci.platform");
  await assert.rejects(buildOciArchive(options({ name: "../escape" })), (e: unknown) => e instanceof InputError && e.code === "oci.name");
  // a base image for another architecture
  await assert.rejects(buildOciArchive(options({ platform: "linux-aarch64", base: `oci-layout:${base.dir}` })), (e: unknown) => e instanceof InputError && e.code === "oci.base-platform");
});
