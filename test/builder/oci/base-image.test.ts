// Base images from local layouts, hostile ones included: every fault is a clear InputError and
// nothing is written outside the build's scratch folder.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveBaseImage, parseBaseSpec } from "../../../src/builder/oci/base-image.ts";
import { buildOciArchive } from "../../../src/builder/oci/build-image.ts";
import { ImageLayout } from "../../../src/builder/oci/image-layout.ts";
import { InputError } from "../../../src/errors.ts";
import { makeBaseLayout, makePrefix } from "./helpers.ts";
import type { BaseLayout } from "./helpers.ts";

let work: string;
let good: BaseLayout;
let prefix: string;
const amd64 = { os: "linux", architecture: "amd64" };

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-oci-base-"));
  good = await makeBaseLayout(join(work, "good"));
  prefix = join(work, "builds", "0123456789ab-demo");
  await makePrefix(prefix);
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of the good layout to damage. */
async function copyOfGood(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(good.dir, dir, { recursive: true });
  return dir;
}

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

test("oci-layout specs: folder and optional tag", () => {
  assert.deepEqual(parseBaseSpec("oci-layout:/srv/images/base:v1"), { kind: "layout", dir: "/srv/images/base", tag: "v1" });
  assert.deepEqual(parseBaseSpec("oci-layout:/srv/images/base"), { kind: "layout", dir: "/srv/images/base" });
  assert.deepEqual(parseBaseSpec("oci-layout:relative/dir"), { kind: "layout", dir: "relative/dir" });
  assert.deepEqual(parseBaseSpec("registry.example.org/base:1"), { kind: "registry", reference: "registry.example.org/base:1" });
  assert.throws(() => parseBaseSpec("oci-layout:/srv/base:bad tag!"), (e: unknown) => e instanceof InputError && e.code === "oci.reference");
});

test("a good layout: selected by tag or as the only image, layers copied and checked", async () => {
  const byTag = await resolveBaseImage(`oci-layout:${good.dir}:base`, { platform: amd64 });
  assert.equal(byTag.manifestDigest, good.manifestDigest);
  assert.deepEqual(byTag.config.rootfs.diff_ids, [good.diffId]);
  const layout = await ImageLayout.create(join(work, "copy-target"));
  const layers = await byTag.copyLayers(layout);
  assert.deepEqual(layers, [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: good.layerDigest, size: byTag.layers[0]?.size }]);
  await assert.rejects(resolveBaseImage(`oci-layout:${good.dir}:nope`, { platform: amd64 }), (e: unknown) => e instanceof InputError && /no image tagged "nope" \(it has "base"\)/.test(e.message));
});

test("a layer whose content does not match its digest is refused; nothing is kept", async () => {
  const dir = await copyOfGood("tampered");
  const blob = join(dir, "blobs", "sha256", good.layerDigest.slice(7));
  const data = await readFile(blob);
  data[data.length - 5] = (data[data.length - 5] ?? 0) ^ 0xff;
  await writeFile(blob, data);
  const before = await listTree(work);
  const scratch = join(work, "scratch-tampered");
  await assert.rejects(buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: scratch, base: `oci-layout:${dir}` }), (e: unknown) => e instanceof InputError && e.code === "oci.blob-digest" && e.message.includes(good.layerDigest));
  const after = (await listTree(work)).filter((p) => !p.startsWith("scratch-tampered"));
  assert.deepEqual(after, before, "nothing written outside the scratch folder");
  const left = (await readdir(scratch, { recursive: true })).map(String);
  assert.ok(!left.some((p) => p.endsWith(good.layerDigest.slice(7))), "the bad blob is not kept");
  assert.ok(!left.some((p) => p.endsWith(".tar")), "no archive");
});

test("a layer of another size than its descriptor says is refused before it is read", async () => {
  const dir = await copyOfGood("longer");
  const manifestFile = join(dir, "blobs", "sha256", good.manifestDigest.slice(7));
  const blob = join(dir, "blobs", "sha256", good.layerDigest.slice(7));
  await writeFile(blob, Buffer.concat([await readFile(blob), Buffer.alloc(1024)]));
  await assert.rejects(resolveBaseImage(`oci-layout:${dir}`, { platform: amd64 }).then((b) => b.copyLayers(ImageLayout.open(join(work, "unused")))), (e: unknown) => e instanceof InputError && e.code === "oci.blob-digest");
  await readFile(manifestFile); // the layout itself is untouched
});

test("an index pointing at a missing blob, a malformed index.json, a bad digest: clear InputErrors", async () => {
  const missing = await copyOfGood("missing");
  await unlink(join(missing, "blobs", "sha256", good.configDigest.slice(7)));
  await assert.rejects(resolveBaseImage(`oci-layout:${missing}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && e.code === "oci.missing-blob" && e.message.includes(good.configDigest));

  const malformed = await copyOfGood("malformed");
  await writeFile(join(malformed, "index.json"), '{"schemaVersion": 2, "manifests": [');
  await assert.rejects(resolveBaseImage(`oci-layout:${malformed}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && e.code === "oci.malformed" && e.message.includes("index.json") && /invalid JSON/.test(e.message));

  const wrongShape = await copyOfGood("wrong-shape");
  await writeFile(join(wrongShape, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", size: "12" }] }));
  await assert.rejects(resolveBaseImage(`oci-layout:${wrongShape}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && /manifests\[0\]/.test(e.message));

  // a digest that would climb out of blobs/ is never used as a path
  const escape = await copyOfGood("escape");
  await writeFile(join(escape, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: "sha256:../../../../etc/passwd", size: 10 }] }));
  await assert.rejects(resolveBaseImage(`oci-layout:${escape}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && e.code === "oci.digest");

  const notLayout = join(work, "not-a-layout");
  await assert.rejects(resolveBaseImage(`oci-layout:${notLayout}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && /not an OCI image layout/.test(e.message));
});

test("a layout with several untagged images asks for a tag; an index resolves to the platform", async () => {
  const two = await copyOfGood("two");
  const index = JSON.parse(await readFile(join(two, "index.json"), "utf8")) as { manifests: Record<string, unknown>[] };
  const m = index.manifests[0] as Record<string, unknown>;
  // The same image listed twice without tags: which one is meant is not known.
  await writeFile(join(two, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: undefined }, { ...m, annotations: undefined }] }));
  await assert.rejects(resolveBaseImage(`oci-layout:${two}`, { platform: amd64 }), (e: unknown) => e instanceof InputError && /holds 2 images/.test(e.message));
  // Listed with platforms: the amd64 one is taken, and arm64 has none.
  await writeFile(
    join(two, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...m, annotations: undefined, platform: { os: "linux", architecture: "s390x" } }, { ...m, annotations: undefined, platform: { os: "linux", architecture: "amd64" } }] }),
  );
  assert.equal((await resolveBaseImage(`oci-layout:${two}`, { platform: amd64 })).manifestDigest, good.manifestDigest);
  await assert.rejects(resolveBaseImage(`oci-layout:${two}`, { platform: { os: "linux", architecture: "arm64" } }), (e: unknown) => e instanceof InputError && e.code === "oci.base-platform" && /linux\/s390x, linux\/amd64/.test(e.message));
});
