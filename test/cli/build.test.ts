/**
 * `condaops build` as a new user runs it from the README: the sample repository in this project
 * (`--repo environments`, a folder inside a larger git repository), the fixture channels standing
 * in for conda-forge, embedded defaults (PGlite and local artifacts under --state).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
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
  const lock = await readFile(join(state, "blobs", "builds", "tools", "cli", doc.commit, "lock", "conda-lock.yml"), "utf8");
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
