/**
 * The committed bundle: up to date with the sources, and runnable as GitHub runs it — plain
 * `node dist/index.js` from a copy of action/ outside this project (no node_modules to fall back
 * on), with a recorded event payload, INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildAction } from "../../scripts/build-action.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { testDatabases } from "../support/databases.ts";
import { startFakeGitHub } from "../support/fake-github.ts";
import type { FakeGitHub } from "../support/fake-github.ts";
import { createTestRepo } from "../support/git-repo.ts";

const run = promisify(execFile);
const TOKEN = "ghs_distTestToken000000000000000000000";
let work: string;
let action: string;
let channels: ChannelServer;
let github: FakeGitHub;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-dist-"));
  action = join(work, "action");
  await cp("action", action, { recursive: true });
  channels = await serveChannels((await sharedUniverse()).dir);
  github = await startFakeGitHub({ tokens: [TOKEN] });
});
after(async () => {
  await channels.close();
  await github.close();
  await rm(work, { recursive: true, force: true });
});

test("action/dist is what `npm run build:action` makes from the current sources", async () => {
  const fresh = join(work, "fresh-dist");
  await buildAction(fresh);
  const committed = (await readdir("action/dist")).sort();
  assert.deepEqual((await readdir(fresh)).sort(), committed);
  for (const f of committed) {
    assert.ok((await readFile(join(fresh, f))).equals(await readFile(join("action/dist", f))), `action/dist/${f} is stale: run npm run build:action and commit it`);
  }
});

const unmasked = (text: string): string => text.split("\n").filter((l) => !l.startsWith("::add-mask::")).join("\n");

async function runDist(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; outputs: string; summary: string }> {
  const outputs = join(work, `out-${Math.random().toString(36).slice(2)}`);
  const summary = `${outputs}.md`;
  await writeFile(outputs, "");
  await writeFile(summary, "");
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CONDAOPS_") && !k.startsWith("INPUT_") && !k.startsWith("GITHUB_")));
  try {
    const r = await run(process.execPath, [join(action, "dist", "index.js")], { cwd: work, env: { ...clean, GITHUB_OUTPUT: outputs, GITHUB_STEP_SUMMARY: summary, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr, outputs: await readFile(outputs, "utf8"), summary: await readFile(summary, "utf8") };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr, outputs: await readFile(outputs, "utf8"), summary: await readFile(summary, "utf8") };
  }
}

test("node action/dist/index.js checks a pull request from a recorded event, against the fake API", async () => {
  const repo = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\nnamespaces: {ds: {owners: [alice]}}\napproval: {rules: [{when: new-package, require: owners}]}\n", "ds/a.yaml": "dependencies: [hello-prefix]\n" });
  try {
    const baseSha = repo.commit("base");
    repo.git("checkout", "-q", "-b", "feature");
    await repo.write({ "ds/a.yaml": "dependencies: [hello-prefix, libzlib]\n" });
    const headSha = repo.commit("add libzlib");
    github.addPull({ owner: "acme", repo: "envs", number: 7, headSha, baseSha, author: "dora" });
    const event = join(work, "pull_request.json");
    await writeFile(event, JSON.stringify({ action: "opened", number: 7, pull_request: { number: 7, head: { sha: headSha, ref: "feature" }, base: { sha: baseSha, ref: "main" }, user: { login: "dora" } }, repository: { name: "envs", owner: { login: "acme" }, default_branch: "main" } }));
    const config = join(work, "check.config.yaml");
    await writeFile(config, `cache_dir: ${join(work, "cache")}\n`);
    const r = await runDist({
      GITHUB_EVENT_NAME: "pull_request",
      GITHUB_EVENT_PATH: event,
      GITHUB_API_URL: github.url,
      GITHUB_WORKSPACE: repo.dir,
      INPUT_MODE: "check",
      INPUT_TOKEN: TOKEN,
      INPUT_CONFIG: config,
      "INPUT_CHANNEL-ALIAS": channels.url,
      INPUT_COMMENT: "true",
      INPUT_SOLVE: "true",
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.outputs, /^result<<.*\npending\n/m);
    assert.match(r.outputs, /changed-environments<<.*\n\["ds\/a"\]\n/);
    // `::add-mask::` is how the runner learns what to mask; every other line must not carry it.
    assert.match(r.stdout, new RegExp(`^::add-mask::${TOKEN}$`, "m"));
    assert.ok(!unmasked(`${r.stdout}${r.stderr}`).includes(TOKEN), "the token is never printed");
    const comment = github.state.comments.find((c) => c.issue_number === 7);
    assert.match(comment?.body ?? "", /\| *\+ *\| *libzlib/);
    assert.match(r.summary, /\| *\+ *\| *libzlib/, "the report is in the job summary too");
    // Pending first (a crash leaves a visible pending check), then the verdicts.
    assert.equal(github.state.statuses.filter((s) => s.sha === headSha).map((s) => `${s.context}:${s.state}`).join(" "), "condaops/policy:pending condaops/approval:pending condaops/policy:success condaops/approval:pending");
  } finally {
    await repo.cleanup();
  }
});

const postgres = testDatabases().find((b) => b.name === "postgres");
test("node action/dist/index.js builds a pushed commit into PostgreSQL and lists it in the job summary", { skip: postgres ? false : "needs a PostgreSQL server: set TEST_DATABASE_URL (.ci/run does)" }, async () => {
  const db = await (postgres as NonNullable<typeof postgres>).open();
  const repo = await createTestRepo({ "policy.yaml": "channels: {default: [conda-forge]}\n", "ds/a.yaml": "dependencies: [hello-prefix, libzlib, python=3.11]\n" });
  try {
    const sha = repo.commit("first");
    const event = join(work, "push.json");
    await writeFile(event, JSON.stringify({ ref: "refs/heads/main", after: sha, repository: { name: "envs", owner: { login: "acme" }, default_branch: "main" } }));
    const config = join(work, "build.config.yaml");
    await writeFile(config, `state: ${join(work, "state")}\ncache_dir: ${join(work, "cache-build")}\ndatabase:\n  url_env: CONDAOPS_TEST_DB\n`);
    const r = await runDist({ GITHUB_EVENT_NAME: "push", GITHUB_EVENT_PATH: event, GITHUB_WORKSPACE: repo.dir, INPUT_MODE: "build", INPUT_CONFIG: config, "INPUT_CHANNEL-ALIAS": channels.url, CONDAOPS_TEST_DB: db.url ?? "" });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.summary, /\| ds\/a \| ✅ succeeded \| `[0-9a-f]{12}` \| \d+ \|.*\[lock\]\(file:\/\//);
    assert.match(r.outputs, /changed-environments<<.*\n\["ds\/a"\]\n/);
    assert.ok(!unmasked(`${r.stdout}${r.stderr}${r.summary}`).includes(db.url ?? "never"), "the database URL is never printed");
    const rows = await db.db.query<{ state: string }>("SELECT state FROM builds");
    assert.deepEqual(rows.map((x) => x.state), ["succeeded"]);
  } finally {
    await repo.cleanup();
    await db.drop();
  }
});
