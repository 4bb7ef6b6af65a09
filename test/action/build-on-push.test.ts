/** `mode: build` in process: where state may live, and every commit of a push built oldest first. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAction } from "../../src/action/run-action.ts";
import type { Runner } from "../../src/action/runner.ts";
import { UsageError } from "../../src/errors.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { testDatabases } from "../support/databases.ts";
import { createTestRepo } from "../support/git-repo.ts";

let channels: ChannelServer;
let work: string;
before(async () => {
  channels = await serveChannels((await sharedUniverse()).dir);
  work = await mkdtemp(join(tmpdir(), "condaops-push-"));
});
after(async () => {
  await channels.close();
  await rm(work, { recursive: true, force: true });
});

function recorder(inputs: Record<string, string>) {
  const summaries: string[] = [];
  const outputs: Record<string, string> = {};
  const runner: Runner = {
    input: (n) => inputs[n] ?? "",
    output: (n, v) => void (outputs[n] = v),
    annotate: () => undefined,
    summary: async (md) => void summaries.push(md),
    info: () => undefined,
    warning: () => undefined,
    secret: () => undefined,
  };
  return { runner, summaries, outputs };
}

async function pushEvent(after: string): Promise<string> {
  const path = join(work, `push-${after.slice(0, 8)}.json`);
  await writeFile(path, JSON.stringify({ ref: "refs/heads/main", after, repository: { name: "envs", owner: { login: "acme" }, default_branch: "main" } }));
  return path;
}

test("state or artifacts inside the runner's workspace are refused: rows would outlive the files", async () => {
  const repo = await createTestRepo({ "ds/a.yaml": "dependencies: [hello-prefix]\n" });
  try {
    const sha = repo.commit("a");
    const config = join(work, "ephemeral.config.yaml");
    await writeFile(config, `state: ${join(repo.dir, ".condaops")}\ndatabase: {url: "postgres://nobody@127.0.0.1:1/none"}\n`);
    const { runner } = recorder({ mode: "build", config });
    await assert.rejects(
      runAction({ GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: await pushEvent(sha), GITHUB_WORKSPACE: repo.dir }, runner),
      (e: unknown) => e instanceof UsageError && e.code === "action.build-needs-durable-storage" && /inside GITHUB_WORKSPACE/.test(e.message),
    );
  } finally {
    await repo.cleanup();
  }
});

const postgres = testDatabases().find((b) => b.name === "postgres");
test("a push of several commits builds each one that changed something, oldest first", { skip: postgres ? false : "needs a PostgreSQL server: set TEST_DATABASE_URL (.ci/run does)" }, async () => {
  const db = await (postgres as NonNullable<typeof postgres>).open();
  const repo = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ds/a.yaml": "dependencies: [hello-prefix]\n" });
  try {
    const first = repo.commit("first");
    const config = join(work, "push.config.yaml");
    await writeFile(config, `state: ${join(work, "state")}\ncache_dir: ${join(work, "cache")}\ndatabase: {url: "${db.url}"}\n`);
    const env = { GITHUB_EVENT_NAME: "push", GITHUB_WORKSPACE: repo.dir };
    const one = recorder({ mode: "build", config, "channel-alias": channels.url });
    assert.equal(await runAction({ ...env, GITHUB_EVENT_PATH: await pushEvent(first) }, one.runner), 0);
    assert.deepEqual(JSON.parse(one.outputs["changed-environments"] ?? ""), ["ds/a"]);

    await repo.write({ "ds/b.yaml": "dependencies: [libzlib]\n" });
    const second = repo.commit("b");
    await repo.write({ "ds/c.yaml": "dependencies: [hello-prefix, libzlib]\n" });
    const third = repo.commit("c");
    const push = recorder({ mode: "build", config, "channel-alias": channels.url });
    assert.equal(await runAction({ ...env, GITHUB_EVENT_PATH: await pushEvent(third) }, push.runner), 0);
    assert.deepEqual(JSON.parse(push.outputs["changed-environments"] ?? ""), ["ds/b", "ds/c"]);
    assert.equal(push.summaries.length, 2);
    assert.match(push.summaries[0] ?? "", new RegExp(`builds for ${second.slice(0, 12)}[\\s\\S]*ds/b \\| ✅ succeeded`));
    assert.match(push.summaries[1] ?? "", new RegExp(`builds for ${third.slice(0, 12)}[\\s\\S]*ds/c \\| ✅ succeeded`));
    const rows = await db.db.query<{ commit_sha: string }>("SELECT commit_sha FROM builds ORDER BY id");
    assert.deepEqual(rows.map((r) => r.commit_sha), [first, second, third]);
    // Recorded as the repository on GitHub, not as the runner's checkout path.
    assert.deepEqual((await db.db.query<{ url: string }>("SELECT url FROM repositories")).map((r) => r.url), ["https://github.com/acme/envs"]);
  } finally {
    await repo.cleanup();
    await db.drop();
  }
});
