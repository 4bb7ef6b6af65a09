// The registry client against a real registry (Debian's docker-registry on 127.0.0.1): images
// pushed (whole or in chunks) come back through skopeo by digest, a base image pushed by skopeo
// is pulled and built on, plain HTTP is spoken only to listed hosts, and Basic (htpasswd) and
// Bearer (token service) authentication work with credentials that never reach a message.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildOciArchive } from "../../../src/builder/oci/build-image.ts";
import type { OciBuildResult } from "../../../src/builder/oci/build-image.ts";
import { parseImageReference } from "../../../src/builder/oci/image-reference.ts";
import { pushImage } from "../../../src/builder/oci/push.ts";
import { RegistryClient } from "../../../src/builder/oci/registry-client.ts";
import { InfraError, InputError, isCondaopsError } from "../../../src/errors.ts";
import { htpasswdLine, startRegistry, startTokenService, toolMissing } from "../../support/oci-registry.ts";
import type { RegistryServer, TokenService } from "../../support/oci-registry.ts";
import { makeBaseLayout, makePrefix } from "./helpers.ts";
import type { BaseLayout } from "./helpers.ts";

const missing = toolMissing("docker-registry", "skopeo");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const PASSWORD = "pw-Very-Secret-42";

let work: string;
let prefix: string;
let base: BaseLayout;
let registry: RegistryServer | undefined;
let image: OciBuildResult;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-oci-registry-"));
  prefix = join(work, "builds", "0123456789ab-demo");
  await makePrefix(prefix);
  base = await makeBaseLayout(join(work, "base"));
  image = await buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: join(work, "w"), title: "team/demo", revision: COMMIT });
  if (!missing) registry = await startRegistry();
});
after(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

/** skopeo copy, run asynchronously: the token service it talks to lives in this process. */
async function skopeoCopy(src: string, dest: string, ...flags: string[]): Promise<void> {
  await promisify(execFile)("skopeo", ["copy", "--quiet", ...flags, src, dest], { timeout: 60_000 });
}

test("an image pushed to a real registry is pulled back by digest by skopeo", { skip: missing }, async () => {
  const reg = registry as RegistryServer;
  const logs: string[] = [];
  const target = { registry: reg.host, repository: "team/demo", tag: COMMIT };
  const r = await pushImage(image.layoutDir, image.manifest, target, { insecureRegistries: [reg.host], log: (l) => logs.push(l) });
  assert.equal(r.digest, image.manifestDigest);
  assert.equal(r.reference, `${reg.host}/team/demo@${image.manifestDigest}`);
  assert.equal(r.uploaded, 2, "config and layer");
  assert.match(logs.join("\n"), new RegExp(`pushed ${reg.host}/team/demo:${COMMIT} as ${reg.host}/team/demo@sha256:`));
  const out = join(work, "pulled");
  await skopeoCopy(`docker://${r.reference}`, `dir:${out}`, "--src-tls-verify=false");
  assert.deepEqual(await readFile(join(out, image.layerDigest.slice(7))), await readFile(join(image.layoutDir, "blobs", "sha256", image.layerDigest.slice(7))));
  // pushed again: nothing to upload
  assert.equal((await pushImage(image.layoutDir, image.manifest, target, { insecureRegistries: [reg.host] })).uploaded, 0);
});

test("blobs larger than the chunk size go up in chunks", { skip: missing }, async () => {
  const reg = registry as RegistryServer;
  assert.ok(image.layerSize > 300);
  const r = await pushImage(image.layoutDir, image.manifest, { registry: reg.host, repository: "team/chunked", tag: "c1" }, { insecureRegistries: [reg.host], chunkSize: 100 });
  await skopeoCopy(`docker://${r.reference}`, `dir:${join(work, "pulled-chunked")}`, "--src-tls-verify=false");
  assert.ok(existsSync(join(work, "pulled-chunked", image.layerDigest.slice(7))));
});

test("a base image pushed by skopeo (OCI and Docker formats) is pulled, checked and built on", { skip: missing }, async () => {
  const reg = registry as RegistryServer;
  await skopeoCopy(`oci:${base.dir}:${base.tag}`, `docker://${reg.host}/base/oci:1`, "--dest-tls-verify=false");
  await skopeoCopy(`oci:${base.dir}:${base.tag}`, `docker://${reg.host}/base/docker:1`, "--dest-tls-verify=false", "--format", "v2s2");
  for (const repo of ["base/oci", "base/docker"]) {
    const built = await buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: join(work, `on-${repo.replace("/", "-")}`), revision: COMMIT, base: `${reg.host}/${repo}:1`, insecureRegistries: [reg.host] });
    const manifest = JSON.parse(await readFile(join(built.layoutDir, "blobs", "sha256", built.manifestDigest.slice(7)), "utf8")) as { layers: { mediaType: string; digest: string }[]; annotations: Record<string, string> };
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      [
        ["application/vnd.oci.image.layer.v1.tar+gzip", base.layerDigest],
        ["application/vnd.oci.image.layer.v1.tar+gzip", built.layerDigest],
      ],
      repo,
    );
    assert.match(manifest.annotations["org.opencontainers.image.base.name"] ?? "", new RegExp(`^${reg.host}/${repo}:1@sha256:`));
    const pushed = await pushImage(built.layoutDir, built.manifest, { registry: reg.host, repository: `team/on-${repo.split("/")[1]}`, tag: COMMIT }, { insecureRegistries: [reg.host] });
    await skopeoCopy(`docker://${pushed.reference}`, `dir:${join(work, `pulled-on-${repo.split("/")[1]}`)}`, "--src-tls-verify=false");
  }
  await assert.rejects(
    buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: join(work, "nope"), base: `${reg.host}/base/none:1`, insecureRegistries: [reg.host] }),
    (e: unknown) => e instanceof InputError && e.code === "oci.not-found",
  );
});

test("a registry that is not listed as insecure is spoken to over HTTPS only", { skip: missing }, async () => {
  const reg = registry as RegistryServer;
  const client = new RegistryClient(reg.host, { attempts: 1 });
  await assert.rejects(client.manifest("base/oci", "1"), (e: unknown) => e instanceof InfraError && e.code === "oci.registry-unreachable" && /insecure_registries/.test(e.hint ?? ""));
});

test("htpasswd (Basic) auth: credentials from oci.credentials; wrong ones fail without showing the password", { skip: missing }, async (t) => {
  const line = htpasswdLine("builder", PASSWORD);
  if (!line) {
    t.skip("no bcrypt (python3 crypt) to write an htpasswd file");
    return;
  }
  const reg = await startRegistry({ auth: { kind: "htpasswd", line } });
  try {
    const target = { registry: reg.host, repository: "team/demo", tag: COMMIT };
    const good = [{ host: reg.host, username: "builder", password: PASSWORD }];
    const r = await pushImage(image.layoutDir, image.manifest, target, { insecureRegistries: [reg.host], credentials: good });
    await skopeoCopy(`docker://${r.reference}`, `dir:${join(work, "pulled-basic")}`, "--src-tls-verify=false", "--src-creds", `builder:${PASSWORD}`);
    await assert.rejects(pushImage(image.layoutDir, image.manifest, target, { insecureRegistries: [reg.host] }), (e: unknown) => e instanceof InfraError && e.code === "oci.registry-auth");
    const wrong = [{ host: reg.host, username: "builder", password: "Wrong-Password-1" }];
    await assert.rejects(pushImage(image.layoutDir, image.manifest, target, { insecureRegistries: [reg.host], credentials: wrong }), (e: unknown) => {
      assert.ok(isCondaopsError(e) && e.code === "oci.registry-auth");
      assert.ok(!JSON.stringify([e.message, e.hint, e.format()]).includes("Wrong-Password-1"));
      return true;
    });
    // the base image can come from there too
    const built = await buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: join(work, "basic-base"), base: r.reference, credentials: good, insecureRegistries: [reg.host] });
    assert.equal(built.base?.manifestDigest, image.manifestDigest);
  } finally {
    await reg.stop();
  }
});

test("token (Bearer) auth: a token for the repository's scope, asked for with the credentials", { skip: missing }, async (t) => {
  const dir = await mkdtemp(join(work, "token-"));
  const tokens: TokenService | undefined = await startTokenService(dir, { builder: PASSWORD });
  if (!tokens) {
    t.skip("openssl not installed (token service certificate)");
    return;
  }
  const reg = await startRegistry({ auth: { kind: "token", token: tokens } });
  try {
    const credentials = [{ host: reg.host, username: "builder", password: PASSWORD }];
    const r = await pushImage(image.layoutDir, image.manifest, { registry: reg.host, repository: "team/demo", tag: COMMIT }, { insecureRegistries: [reg.host], credentials });
    assert.ok(tokens.requests.length >= 1);
    assert.ok(tokens.requests.every((q) => q.user === "builder" && q.service === "condaops-test-registry"));
    assert.ok(tokens.requests.some((q) => q.scope.includes("repository:team/demo:pull,push")), JSON.stringify(tokens.requests));
    await skopeoCopy(`docker://${r.reference}`, `dir:${join(work, "pulled-token")}`, "--src-tls-verify=false", "--src-creds", `builder:${PASSWORD}`);
    // pulled as a base with the same credentials
    const built = await buildOciArchive({ prefix, name: "demo", platform: "linux-64", workDir: join(work, "token-base"), base: `${reg.host}/team/demo:${COMMIT}`, credentials, insecureRegistries: [reg.host] });
    assert.equal(built.base?.manifestDigest, image.manifestDigest);
    assert.ok(tokens.requests.some((q) => q.scope.includes("repository:team/demo:pull")));
    // without credentials the token grants nothing: refused
    await assert.rejects(pushImage(image.layoutDir, image.manifest, { registry: reg.host, repository: "team/other", tag: "x" }, { insecureRegistries: [reg.host] }), (e: unknown) => e instanceof InfraError && e.code === "oci.registry-auth");
  } finally {
    await reg.stop();
    await tokens.close();
  }
});

test("pulled references are checked before any request", () => {
  assert.throws(() => parseImageReference("127.0.0.1:5000/../etc:1"), (e: unknown) => e instanceof InputError);
});
