import { test } from "node:test";
import assert from "node:assert/strict";
import { openRepository } from "../../src/git/repository.ts";
import { worktree } from "../../src/git/worktree.ts";
import { createTestRepo } from "../support/git-repo.ts";
import { UsageError } from "../../src/errors.ts";

test("tree(ref) reads files as they were at that commit, not the working tree", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": "v: 1\n", "ds/ml.yaml": "a\n" });
  t.after(() => repo.cleanup());
  const first = repo.commit("first", "2024-01-02T03:04:05Z");
  await repo.write({ "policy.yaml": "v: 2\n", "geo/gdal.yaml": "b\n" });
  const second = repo.commit("second");
  await repo.write({ "policy.yaml": "v: 3 (uncommitted)\n" });

  const git = await openRepository(repo.dir);
  assert.equal(await git.resolve("HEAD"), second);
  assert.equal(await git.resolve(first.slice(0, 7)), first);
  const t1 = await git.tree(first);
  assert.deepEqual(await t1.list(), ["ds/ml.yaml", "policy.yaml"]);
  assert.equal((await t1.read("policy.yaml"))?.toString(), "v: 1\n");
  assert.equal(await t1.read("geo/gdal.yaml"), undefined);
  const t2 = await git.tree("HEAD");
  assert.equal((await t2.read("policy.yaml"))?.toString(), "v: 2\n");
  assert.equal((await worktree(repo.dir).read("policy.yaml"))?.toString(), "v: 3 (uncommitted)\n");
});

test("tree(ref) returns bytes unchanged (non-UTF-8 content survives)", async (t) => {
  const bytes = Buffer.from([0x6e, 0x3a, 0x20, 0xff, 0xfe, 0x0a]);
  const repo = await createTestRepo({ "ns/bad.yaml": bytes });
  t.after(() => repo.cleanup());
  repo.commit("bytes");
  const tree = await (await openRepository(repo.dir)).tree("HEAD");
  assert.deepEqual(await tree.read("ns/bad.yaml"), bytes);
});

test("changedSince lists files changed between commits, and against the working tree incl. untracked", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": "x\n", "a/one.yaml": "1\n", "a/two.yaml": "2\n" });
  t.after(() => repo.cleanup());
  const base = repo.commit("base");
  await repo.write({ "a/two.yaml": "2b\n" });
  await repo.remove(["a/one.yaml"]);
  repo.commit("change");
  await repo.write({ "b/new.yaml": "n\n" });
  const git = await openRepository(repo.dir);
  assert.deepEqual(await git.changedSince(base, "HEAD"), ["a/one.yaml", "a/two.yaml"]);
  assert.deepEqual(await git.changedSince(base, "worktree"), ["a/one.yaml", "a/two.yaml", "b/new.yaml"]);
});

test("commit() gives sha, parents, author and committer date", async (t) => {
  const repo = await createTestRepo({ "f": "1" });
  t.after(() => repo.cleanup());
  const a = repo.commit("first line\n\nbody", "2023-07-08T09:10:11Z");
  await repo.write({ f: "2" });
  const b = repo.commit("second", "2024-02-03T04:05:06Z");
  const info = await (await openRepository(repo.dir)).commit("HEAD");
  assert.equal(info.sha, b);
  assert.deepEqual(info.parents, [a]);
  assert.equal(info.authorName, "Ada Lovelace");
  assert.equal(new Date(info.date).toISOString(), "2024-02-03T04:05:06.000Z");
  assert.equal((await (await openRepository(repo.dir)).commit(a)).message, "first line\n\nbody");
});

test("unknown refs and option-like refs are usage errors, not git options", async (t) => {
  const repo = await createTestRepo({ "f": "1" });
  t.after(() => repo.cleanup());
  repo.commit("one");
  const git = await openRepository(repo.dir);
  await assert.rejects(git.resolve("no-such-branch"), (e) => e instanceof UsageError && /not a commit/.test(e.message));
  await assert.rejects(git.resolve("--output=/tmp/pwned"), UsageError);
});

test("a folder that is not a repository is a usage error", async () => {
  await assert.rejects(openRepository("/"), (e) => e instanceof UsageError && e.code === "git.not-a-repository");
});

test("first-parent history and ancestry", async () => {
  const r = await createTestRepo({ "a/x.yaml": "1\n" });
  const root = r.commit("first");
  await r.write({ "a/x.yaml": "2\n" });
  const first = r.commit("second\n\nbody");
  await r.write({ "a/x.yaml": "3\n" });
  const second = r.commit("third");
  const repo = await openRepository(r.dir);
  const h = await repo.firstParentHistory("HEAD", 10);
  assert.deepEqual(h.map((c) => c.sha), [second, first, root]);
  assert.equal(h[1]?.message, "second\n\nbody");
  assert.deepEqual(h[0]?.parents, [first]);
  assert.deepEqual(h[2]?.parents, []);
  assert.deepEqual((await repo.firstParentHistory("HEAD", 1, 1)).map((c) => c.sha), [first]);
  assert.equal(await repo.isAncestor(first, second), true);
  assert.equal(await repo.isAncestor(second, first), false);
  assert.equal(await repo.isAncestor("0".repeat(40), second), false);
  await r.cleanup();
});

test("a moved spec shows as removed and added (no rename detection)", async () => {
  const r = await createTestRepo({ "ta/x.yaml": "dependencies: [a, b, c, d, e, f]\n" });
  const base = r.commit("base");
  await r.remove(["ta/x.yaml"]);
  await r.write({ "tb/x.yaml": "dependencies: [a, b, c, d, e, f]\n" });
  const head = r.commit("move");
  const repo = await openRepository(r.dir);
  assert.deepEqual(await repo.changedSince(base, head), ["ta/x.yaml", "tb/x.yaml"]);
  assert.equal(await repo.isShallow(), false);
  await r.cleanup();
});
