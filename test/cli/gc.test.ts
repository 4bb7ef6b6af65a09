/**
 * Retention as an admin meets it: builds pile up, policy says keep_last, `condaops gc --dry-run`
 * shows what would go and changes nothing, `condaops gc` removes old prefixes and the artifacts
 * not in keep_on_delete, never the current build nor a pinned one; later builds apply retention
 * to what they built. `condaops artifacts` lists what a build still has.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { createTestRepo } from "../support/git-repo.ts";
import type { TestRepo } from "../support/git-repo.ts";
import { json, runCli } from "../support/run-cli.ts";

let server: ChannelServer;
let work: string;
let config: string;
let repo: TestRepo;

before(async () => {
  server = await serveChannels((await sharedUniverse()).dir);
  work = await mkdtemp(join(tmpdir(), "condaops-gc-cli-"));
  config = join(work, "condaops.config.yaml");
  await writeFile(config, `channel_alias: ${server.url}\ncache_dir: ${join(work, "cache")}\nbuild: {min_free_space: 0}\n`);
});
after(async () => {
  await server.close();
  await repo?.cleanup();
  await rm(work, { recursive: true, force: true });
});

interface ArtifactsJson {
  commit: string;
  build: { id: number; state: string; prunedAt: string | null };
  artifacts: { kind: string; key: string; size: number; sha256: string; url: string; platform: string | null }[];
}
interface GcJson {
  dryRun: boolean;
  freedBytes: number;
  kept: Record<string, number>;
  removed: { namespace: string; name: string; commit: string; why: string; artifacts: { kind: string; key: string }[]; prefix?: { path: string; bytes: number } }[];
}

const policy = (retention: string) => `channels: {default: [conda-forge]}\nbuild:\n  artifacts: [lock, explicit, yaml]\n${retention}`;

/** Every file under a folder with its content hash: "nothing changed" made checkable. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(p, createHash("sha256").update(await readFile(p)).digest("hex"));
      else out.set(p, "link");
    }
  };
  await walk(dir);
  return out;
}

test("gc keeps the last N, the current and pinned builds and the keep_on_delete kinds; --dry-run changes nothing", async () => {
  repo = await createTestRepo({ "policy.yaml": policy(""), "ok/app.yaml": "dependencies: [hello-prefix]\n" });
  const c1 = repo.commit("app with hello-prefix", "2024-01-01T00:00:00Z");
  const state = join(work, "state");
  const build = async () => {
    const r = await runCli("build", "--repo", repo.dir, "--state", state, "--config", config, "--json");
    assert.equal(r.code, 0, r.stderr);
    return json<{ builds: { prefix: string }[] }>(r).builds[0]?.prefix as string;
  };
  const artifacts = async (ref: string) => {
    const r = await runCli("artifacts", ref, "--state", state, "--config", config, "--json");
    assert.equal(r.code, 0, r.stderr);
    return json<ArtifactsJson>(r);
  };
  const p1 = await build();
  await repo.write({ "ok/app.yaml": "dependencies: [hello-prefix, linkdemo]\n" });
  const c2 = repo.commit("add linkdemo", "2024-02-01T00:00:00Z");
  const p2 = await build();
  await repo.write({ "ok/app.yaml": "dependencies: [hello-prefix, postlink-demo]\n" });
  const c3 = repo.commit("swap for postlink-demo", "2024-03-01T00:00:00Z");
  const p3 = await build();
  assert.equal(new Set([p1, p2, p3]).size, 3, "three environments, three prefixes");

  // `artifacts` lists what a build has, with sizes, hashes and URLs that point at the bytes.
  const a2 = await artifacts(`ok/app@${c2.slice(0, 7)}`);
  assert.equal(a2.commit, c2);
  assert.deepEqual([...new Set(a2.artifacts.map((a) => a.kind))].sort(), ["build.json", "explicit", "lock", "log", "yaml"]);
  for (const a of a2.artifacts) {
    const bytes = await readFile(fileURLToPath(a.url));
    assert.equal(bytes.length, a.size, a.key);
    assert.equal(createHash("sha256").update(bytes).digest("hex"), a.sha256, a.key);
  }
  const human = await runCli("artifacts", `ok/app@${c2}`, "--state", state, "--config", config);
  assert.match(human.stdout, /^ {2}lock +\d+(\.\d)? (B|KiB) +[0-9a-f]{16} +file:\/\//m);
  assert.equal((await artifacts("ok/app")).commit, c3, "no ref: the current build");

  // The policy now keeps one build, pins c1, and keeps only lock and log of removed builds.
  await repo.write({ "policy.yaml": policy(`  retention: {keep_last: 1, pinned: [${c1.slice(0, 10)}], keep_on_delete: [lock, log]}\n`) });
  repo.commit("retention");
  const before = await snapshot(state);
  const dry = await runCli("gc", "--repo", repo.dir, "--state", state, "--config", config, "--dry-run", "--json");
  assert.equal(dry.code, 0, dry.stderr);
  const plan = json<GcJson>(dry);
  assert.equal(plan.dryRun, true);
  assert.deepEqual(plan.removed.map((r) => [r.commit, r.why]), [[c2, "old"]], "only c2: c3 is current and kept by keep_last, c1 is pinned");
  assert.deepEqual(
    plan.removed[0]?.artifacts.map((a) => a.key).sort(),
    a2.artifacts.filter((a) => a.kind === "explicit" || a.kind === "yaml").map((a) => a.key).sort(),
    "exactly the artifacts not in keep_on_delete",
  );
  assert.equal(plan.removed[0]?.prefix?.path, p2);
  assert.ok(plan.freedBytes > (plan.removed[0]?.prefix?.bytes ?? 0), "freed: the prefix and the artifacts");
  assert.deepEqual(plan.kept, { current: 1, pinned: 1 });
  const after = await snapshot(state);
  for (const [path, hash] of before) {
    if (path.startsWith(join(state, "db"))) continue; // the embedded database rewrites its own files on open
    assert.equal(after.get(path), hash, `--dry-run changed ${path}`);
  }
  assert.deepEqual([...after.keys()].filter((p) => !before.has(p) && !p.startsWith(join(state, "db"))), [], "--dry-run created files");
  const humanDry = await runCli("gc", "--repo", repo.dir, "--state", state, "--config", config, "--dry-run");
  assert.match(humanDry.stdout, /would remove ok\/app@[0-9a-f]{12} \[old\]: \d+ artifacts .*prefix /);
  assert.match(humanDry.stdout, /would free .* from 1 builds.*dry run: nothing changed/);

  const real = await runCli("gc", "--state", state, "--config", config, "--json");
  assert.equal(real.code, 0, real.stderr);
  const done = json<GcJson>(real);
  assert.deepEqual(done.removed.map((r) => r.commit), [c2]);
  assert.equal(existsSync(p2), false, "c2's prefix is gone");
  assert.ok(existsSync(join(p1, "bin", "hello-prefix")) && existsSync(join(p3, "bin", "hello-prefix")), "pinned and current prefixes stay");
  assert.equal(existsSync(join(state, "pins", "ok", "app", c2)), false, "c2's pin link went with it");
  assert.ok(existsSync(join(state, "pins", "ok", "app", c3)));
  const pruned = await artifacts(`ok/app@${c2}`);
  assert.ok(pruned.build.prunedAt, "the build is marked pruned");
  assert.deepEqual([...new Set(pruned.artifacts.map((a) => a.kind))].sort(), ["build.json", "lock", "log"], "keep_on_delete kinds and build.json stay");
  for (const a of pruned.artifacts) assert.ok(existsSync(fileURLToPath(a.url)), `${a.key} still downloadable`);
  for (const a of plan.removed[0]?.artifacts ?? []) assert.equal(existsSync(join(state, "blobs", a.key)), false, `${a.key} deleted`);
  assert.equal((await artifacts(`ok/app@${c1}`)).artifacts.length, a2.artifacts.length, "the pinned build keeps everything");

  const again = json<GcJson>(await runCli("gc", "--state", state, "--config", config, "--json"));
  assert.deepEqual(again.removed, [], "a second gc has nothing left to do");

  // A later build applies retention to the environment it built.
  await repo.write({ "ok/app.yaml": "dependencies: [hello-prefix, linkdemo, postlink-demo]\n" });
  const c5 = repo.commit("both", "2024-05-01T00:00:00Z");
  const p5 = await build();
  assert.equal(existsSync(p3), false, "c3 is no longer among the last 1: removed by the build of c5");
  assert.ok(existsSync(p5) && existsSync(p1));
  assert.ok((await artifacts(`ok/app@${c3}`)).build.prunedAt);
  assert.equal((await artifacts("ok/app")).commit, c5);
});

test("artifacts and gc refuse bad references and empty state folders clearly", async () => {
  const empty = join(work, "empty-state");
  const none = await runCli("artifacts", "ok/app", "--state", empty, "--config", config);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /nothing was built in the state folder/);
  const bad = await runCli("artifacts", "ok/app@not-a-commit", "--state", empty, "--config", config);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /is not a commit/);
  const traversal = await runCli("artifacts", "../etc@current", "--state", empty, "--config", config);
  assert.equal(traversal.code, 2);
  const state = join(work, "state");
  const missing = await runCli("artifacts", "ok/nope", "--state", state, "--config", config);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /no build of ok\/nope at current/);

  // A broken policy at the tip decides nothing: gc refuses and removes nothing.
  await repo.write({ "policy.yaml": "build:\n  retention: {keep_last: 0, pinned: [not-a-commit]}\n" });
  repo.commit("broken retention");
  const before = await snapshot(state);
  const refused = await runCli("gc", "--state", state, "--config", config);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /policy\.yaml.*keep_last[\s\S]*the policy at [0-9a-f]{12} is invalid: nothing was removed/);
  const after = await snapshot(state);
  for (const [path, hash] of before) if (!path.startsWith(join(state, "db"))) assert.equal(after.get(path), hash, `gc with a broken policy changed ${path}`);
});
