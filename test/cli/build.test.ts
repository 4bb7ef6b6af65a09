/**
 * `condaops build` as a new user runs it from the README: the sample repository in this project
 * (`--repo environments`, a folder inside a larger git repository), the fixture channels standing
 * in for conda-forge, embedded defaults (PGlite and local artifacts under --state).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createHash } from "node:crypto";
import { pathToFileURL } from "node:url";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { createTestRepo } from "../support/git-repo.ts";
import { json, runCli } from "../support/run-cli.ts";

let server: ChannelServer;
let work: string;
let config: string;

before(async () => {
  server = await serveChannels((await sharedUniverse()).dir);
  work = await mkdtemp(join(tmpdir(), "condaops-build-cli-"));
  config = join(work, "condaops.config.yaml");
  await writeFile(config, `channel_alias: ${server.url}\ncache_dir: ${join(work, "cache")}\n`);
});
after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

interface BuildJson {
  ok: boolean;
  commit: string;
  builds: { namespace: string; name: string; state: string; existing: boolean; environmentHash: string | null; prefix: string | null; packages?: number }[];
}

test("condaops build --repo environments --all builds every sample environment, and again is a no-op", async () => {
  const state = join(work, "state");
  const r = await runCli("build", "--repo", "environments", "--all", "--state", state, "--config", config);
  assert.equal(r.code, 0, r.stderr);
  for (const env of ["data-science/analytics", "data-science/nlp", "geo/gdal", "ml/gpu", "tools/cli"]) {
    assert.match(r.stdout, new RegExp(`^${env} +succeeded +[0-9a-f]{12} +[0-9.]+ s +\\d+ packages`, "m"), env);
  }
  // The embedded database and local artifacts live under --state; the links point at prefixes.
  assert.ok(existsSync(join(state, "db")));
  assert.ok(existsSync(join(state, "envs", "data-science", "analytics", "conda-meta", "history")));
  const again = await runCli("build", "--repo", "environments", "--all", "--state", state, "--config", config, "--json");
  assert.equal(again.code, 0, again.stderr);
  const doc = json<BuildJson>(again);
  assert.equal(doc.ok, true);
  assert.equal(doc.builds.length, 5);
  assert.ok(doc.builds.every((b) => b.existing && b.state === "succeeded" && /^[0-9a-f]{64}$/.test(b.environmentHash ?? "")), JSON.stringify(doc.builds));
  const cli = doc.builds.find((b) => b.name === "cli") as unknown as { artifacts: { kind: string; key: string; url: string; sha256: string }[] };
  assert.deepEqual(cli.artifacts.map((a) => a.kind).sort(), ["build.json", "explicit", "explicit", "explicit", "lock", "log", "oci", "pack", "sbom", "sbom", "sbom", "yaml", "yaml", "yaml"]);
  const lockArtifact = cli.artifacts.find((a) => a.kind === "lock");
  assert.equal(lockArtifact?.url, pathToFileURL(join(state, "blobs", "builds", "tools", "cli", doc.commit, "lock", "conda-lock.yml")).href);
  const lock = await readFile(join(state, "blobs", "builds", "tools", "cli", doc.commit, "lock", "conda-lock.yml"), "utf8");
  assert.equal(createHash("sha256").update(lock).digest("hex"), lockArtifact?.sha256);
  assert.match(lock, /platform: osx-arm64/, "every platform of the spec is locked, even the ones not installed here");
});

test("exit 1 when a build fails, and the others still complete; usage errors exit 2", async () => {
  const repo = await createTestRepo({
    "policy.yaml": "channels: {default: [conda-forge]}\n",
    "ok/good.yaml": "dependencies: [hello-prefix]\n",
    "ok/bad.yaml": "dependencies: [does-not-exist]\n",
  });
  repo.commit("two environments");
  try {
    const state = join(work, "state-fail");
    const r = await runCli("build", "--repo", repo.dir, "--state", state, "--config", config, "--json");
    assert.equal(r.code, 1, r.stderr);
    const doc = json<BuildJson & { builds: { error?: string }[] }>(r);
    assert.deepEqual(doc.builds.map((b) => `${b.namespace}/${b.name}:${b.state}`), ["ok/bad:failed", "ok/good:succeeded"]);
    assert.match(doc.builds[0]?.error ?? "", /does-not-exist/);
    assert.equal((await runCli("build", "--repo", repo.dir, "--env", "ok/../x", "--state", state)).code, 2);
    assert.equal((await runCli("build", "--repo", repo.dir, "--env", "ok/nope", "--state", state, "--config", config)).code, 2);
    assert.equal((await runCli("build", "--repo", join(work, "nothing-here"), "--state", state)).code, 2);
  } finally {
    await repo.cleanup();
  }
});

test("the disk guard: below build.min_free_space a build fails before it starts, with the reason, leaving nothing but its log", async () => {
  const repo = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ok/good.yaml": "dependencies: [hello-prefix]\n" });
  repo.commit("one environment");
  try {
    const full = join(work, "full-disk.yaml");
    await writeFile(full, `channel_alias: ${server.url}\ncache_dir: ${join(work, "cache")}\nbuild: {min_free_space: 1000TiB}\n`);
    const state = join(work, "state-full");
    const r = await runCli("build", "--repo", repo.dir, "--state", state, "--config", full, "--json");
    assert.equal(r.code, 1, r.stderr);
    const doc = json<BuildJson & { builds: { error?: string; artifacts: { kind: string; url: string }[] }[] }>(r);
    const b = doc.builds[0];
    assert.equal(b?.state, "failed");
    assert.match(b?.error ?? "", /free in .*below build\.min_free_space \(1000 TiB\).*condaops gc/);
    assert.deepEqual(b?.artifacts.map((a) => a.kind), ["log"], "nothing published but the log");
    assert.match(await readFile(new URL(b?.artifacts[0]?.url ?? ""), "utf8"), /FAILED: only .* free/);
    assert.deepEqual(existsSync(join(state, "builds")) ? await readdir(join(state, "builds")) : [], [], "no prefix was started");
  } finally {
    await repo.cleanup();
  }
});

test("a failing artifact fails the build with its reason in the log; the others made in parallel are not left published", async () => {
  const repo = await createTestRepo({
    "policy.yaml": "channels: {default: [conda-forge]}\nbuild: {artifacts: [lock, yaml, pack, sbom, oci]}\n",
    "ok/good.yaml": "dependencies: [hello-prefix]\n",
  });
  repo.commit("one environment");
  try {
    const badBase = join(work, "bad-base.yaml");
    await writeFile(badBase, `channel_alias: ${server.url}\ncache_dir: ${join(work, "cache")}\noci: {base: "oci-layout:${join(work, "no-such-layout")}"}\n`);
    const state = join(work, "state-bad-artifact");
    const r = await runCli("build", "--repo", repo.dir, "--state", state, "--config", badBase, "--json");
    assert.equal(r.code, 1, r.stderr);
    const doc = json<BuildJson & { builds: { error?: string; artifacts: { kind: string; url: string }[] }[] }>(r);
    const b = doc.builds[0];
    assert.equal(b?.state, "failed");
    assert.match(b?.error ?? "", /^oci artifact: .*no-such-layout/);
    assert.deepEqual(b?.artifacts.map((a) => a.kind), ["log"]);
    const log = await readFile(new URL(b?.artifacts[0]?.url ?? ""), "utf8");
    assert.match(log, /FAILED: oci artifact: /);
    const stored = (await readdir(join(state, "blobs"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    assert.deepEqual(stored, ["build.log"], "the pack, sbom, lock and yaml made alongside were removed");
    assert.deepEqual(existsSync(join(state, "tmp")) ? (await readdir(join(state, "tmp"))).filter((n) => n.startsWith("build-")) : [], [], "scratch space removed");
    assert.equal(existsSync(join(state, "envs", "ok", "good")), false, "never made current");
  } finally {
    await repo.cleanup();
  }
});

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("a build killed mid-install (kill -9) is marked failed, its partial prefix removed, and retried by the next run", async () => {
  const repo = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ok/slow.yaml": "dependencies: [hello-prefix, libzlib]\n" });
  const sha = repo.commit("one environment");
  const state = join(work, "state-crash");
  const cfg = join(work, "crash.config.yaml");
  await writeFile(cfg, `channel_alias: ${server.url}\ncache_dir: ${join(work, "cache-crash")}\n`);
  server.hook(/\/hello-prefix-1\.0-0\./, { kind: "hang" });
  try {
    const child = spawn(process.execPath, ["bin/condaops.js", "build", "--repo", repo.dir, "--state", state, "--config", cfg], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const partials = async () => (existsSync(join(state, "builds")) ? (await readdir(join(state, "builds"))).filter((n) => n.includes(".partial-")) : []);
    await waitFor(`the download to start and a partial prefix to appear (stderr so far: ${stderr})`, async () => server.requests.some((r) => r.url.includes("hello-prefix-1.0-0")) && (await partials()).length > 0);
    await new Promise((r) => setTimeout(r, 1500)); // the build log flushes to storage every second
    child.kill("SIGKILL");
    await once(child, "exit");
    server.clearHooks();
    assert.equal((await partials()).length, 1, "the killed install left its partial prefix");

    const r = await runCli("build", "--repo", repo.dir, "--state", state, "--config", cfg, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /stopped while building/);
    const doc = json<{ builds: { namespace: string; name: string; commit: string; state: string; attempt: number; reason: string; existing: boolean }[] }>(r);
    assert.deepEqual(doc.builds.map((b) => [`${b.namespace}/${b.name}`, b.commit, b.state, b.attempt, b.reason, b.existing]), [["ok/slow", sha, "succeeded", 2, "retry", false]]);
    assert.deepEqual(await partials(), [], "the partial prefix was removed");
    // The killed attempt keeps the log it was streaming, as its log artifact.
    const crashedLog = await readFile(join(state, "blobs", "builds", "ok", "slow", sha, "log", "build.log"), "utf8");
    assert.match(crashedLog, /attempt 1 \(changed\)[\s\S]*spec hash [0-9a-f]{64}/);
    assert.ok(existsSync(join(state, "envs", "ok", "slow", "bin", "hello-prefix")));
  } finally {
    server.clearHooks();
    await repo.cleanup();
  }
});

test("--repo URL clones into the cache once and fetches new commits on later builds", async () => {
  const upstream = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ok/a.yaml": "dependencies: [hello-prefix]\n" });
  const first = upstream.commit("a");
  try {
    const state = join(work, "state-url");
    const url = `file://${upstream.dir}`;
    const r1 = await runCli("build", "--repo", url, "--state", state, "--config", config, "--json");
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stderr, /cloning file:\/\//);
    assert.equal(json<{ commit: string }>(r1).commit, first);
    await upstream.write({ "ok/b.yaml": "dependencies: [libzlib]\n" });
    const second = upstream.commit("b");
    const r2 = await runCli("build", "--repo", url, "--state", state, "--config", config, "--json");
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /fetching file:\/\//);
    const doc = json<{ commit: string; repository: string; builds: { name: string; state: string }[] }>(r2);
    assert.equal(doc.commit, second);
    assert.equal(doc.repository, url);
    assert.deepEqual(doc.builds.map((b) => `${b.name}:${b.state}`), ["b:succeeded"]);
    // The same repository named by its path is another identity: not into this state folder.
    const other = await runCli("build", "--repo", upstream.dir, "--state", state, "--config", config);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /holds the builds of file:\/\/.*use another --state/s);
  } finally {
    await upstream.cleanup();
  }
});

test("a shallow clone is refused with the fetch-depth hint (everything would look changed)", async () => {
  const upstream = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ok/a.yaml": "dependencies: [hello-prefix]\n" });
  upstream.commit("a");
  await upstream.write({ "ok/b.yaml": "dependencies: [libzlib]\n" });
  upstream.commit("b");
  const shallow = join(work, "shallow");
  try {
    spawnSync("git", ["clone", "-q", "--depth", "1", `file://${upstream.dir}`, shallow]);
    const r = await runCli("build", "--repo", shallow, "--state", join(work, "state-shallow"), "--config", config);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /shallow clone[\s\S]*fetch-depth: 0/);
    // Deeper but still shallow: refused too (the boundary commit would pass for a root).
    const deeper = join(work, "shallow2");
    spawnSync("git", ["clone", "-q", "--depth", "2", `file://${upstream.dir}`, deeper]);
    const r2 = await runCli("build", "--repo", deeper, "--state", join(work, "state-shallow2"), "--config", config);
    assert.equal(r2.code, 2, r2.stderr);
  } finally {
    await upstream.cleanup();
  }
});
