/**
 * `mode: check` end to end, in process: a real git repository with a base branch and a PR head,
 * the fixture channels on 127.0.0.1, a fake GitHub API that records every request, and a runner
 * that records annotations and outputs as the Actions runner would show them.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAction } from "../../src/action/run-action.ts";
import type { Runner } from "../../src/action/runner.ts";
import { REPORT_MARKER } from "../../src/action/pr-report.ts";
import { serveChannels } from "../fixtures/channel.ts";
import type { ChannelServer } from "../fixtures/channel.ts";
import { sharedUniverse } from "../fixtures/universe.ts";
import { startFakeGitHub } from "../support/fake-github.ts";
import type { FakeGitHub } from "../support/fake-github.ts";
import { createTestRepo } from "../support/git-repo.ts";
import type { TestRepo } from "../support/git-repo.ts";

const TOKEN = "ghs_fakeTokenForTests0123456789abcdef";
let channels: ChannelServer;
let github: FakeGitHub;
let work: string;

before(async () => {
  channels = await serveChannels((await sharedUniverse()).dir);
  github = await startFakeGitHub({ tokens: [TOKEN] });
  work = await mkdtemp(join(tmpdir(), "condaops-action-"));
});
after(async () => {
  await channels.close();
  await github.close();
  await rm(work, { recursive: true, force: true });
});

const POLICY = `admins: [the-admin]
channels: {default: [conda-forge], allowed: [conda-forge]}
packages:
  blocked: [{name: six, reason: "use the standard library"}]
namespaces:
  ds:
    owners: [alice, "@acme/ds-team"]
approval:
  rules:
    - {when: new-package, require: owners}
    - {when: new-environment, require: owners}
`;

interface Recorded {
  annotations: { level: string; message: string; file: string; line: number; column: number }[];
  outputs: Record<string, string>;
  info: string[];
  secrets: string[];
}

function recorder(inputs: Record<string, string>): Runner & { rec: Recorded } {
  const rec: Recorded = { annotations: [], outputs: {}, info: [], secrets: [] };
  return {
    rec,
    input: (name) => inputs[name] ?? "",
    output: (name, value) => void (rec.outputs[name] = value),
    annotate: (level, message, at) => void rec.annotations.push({ level, message, file: at.file, line: at.line, column: at.column }),
    summary: async () => undefined,
    info: (line) => void rec.info.push(line),
    secret: (value) => void rec.secrets.push(value),
  };
}

let prNumber = 0;

/** A repository with `main` (the base) and a PR branch made by `change`; returns what the Action needs. */
async function pullRequest(change: (repo: TestRepo) => Promise<void>, base: Record<string, string> = {}) {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/analysis.yaml": "dependencies: [hello-prefix]\n", ...base });
  const baseSha = repo.commit("base");
  repo.git("checkout", "-q", "-b", "feature");
  await change(repo);
  const headSha = repo.commit("the change");
  const number = ++prNumber;
  const event = join(work, `event-${number}.json`);
  await writeFile(
    event,
    JSON.stringify({
      action: "synchronize",
      number,
      pull_request: { number, head: { sha: headSha, ref: "feature" }, base: { sha: baseSha, ref: "main" }, user: { login: "dora" } },
      repository: { name: "envs", owner: { login: "acme" }, default_branch: "main" },
    }),
  );
  github.addPull({ owner: "acme", repo: "envs", number, headSha, baseSha, author: "dora" });
  const env = { GITHUB_EVENT_NAME: "pull_request", GITHUB_EVENT_PATH: event, GITHUB_API_URL: github.url, GITHUB_WORKSPACE: repo.dir };
  const config = join(work, "condaops.config.yaml");
  await writeFile(config, `cache_dir: ${join(work, "cache")}\n`);
  const run = async (inputs: Record<string, string> = {}, eventName = "pull_request") => {
    const runner = recorder({ mode: "check", token: TOKEN, "channel-alias": channels.url, config, ...inputs });
    const code = await runAction({ ...env, GITHUB_EVENT_NAME: eventName }, runner, { github: { minWriteIntervalMs: 0, retry: { baseDelayMs: 5 } } });
    return { code, ...runner.rec };
  };
  return { repo, number, headSha, baseSha, run };
}

const statusesFor = (sha: string, context: string) => github.state.statuses.filter((s) => s.sha === sha && s.context === context);
const commentsOn = (number: number) => github.state.comments.filter((c) => c.issue_number === number && c.body.includes(REPORT_MARKER));

test("a passing PR: policy success, the package diff in one comment, approval pending for the owners", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    const r = await pr.run();
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.equal(r.outputs.result, "pending");
    assert.deepEqual(JSON.parse(r.outputs["changed-environments"] ?? "[]"), ["ds/analysis"]);
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "success");
    const approval = statusesFor(pr.headSha, "condaops/approval").at(-1);
    assert.equal(approval?.state, "pending");
    assert.match(approval?.description ?? "", /alice or @acme\/ds-team/);
    const comments = commentsOn(pr.number);
    assert.equal(comments.length, 1);
    const body = comments[0]?.body ?? "";
    assert.match(body, /policy passes/);
    assert.match(body, /ds\/analysis \(changed\)/);
    assert.match(body, /\| *\+ *\| *libzlib *\| *\| *1\.3\.1/, body);
    assert.match(body, /adds "libzlib", which no environment used before/);
    assert.deepEqual(r.annotations, []);
    assert.ok(r.secrets.includes(TOKEN), "the token is masked in the runner's log");
    assert.ok(github.requests.every((q) => q.headers.authorization === `token ${TOKEN}` || q.headers.authorization === `Bearer ${TOKEN}`));
    assert.ok(!r.info.join("\n").includes(TOKEN));

    // A second run (a new push, same head here) edits the comment in place.
    const again = await pr.run();
    assert.equal(again.code, 0);
    assert.equal(commentsOn(pr.number).length, 1, "still one comment");
    assert.equal(github.requestsTo("PATCH", /\/issues\/comments\/\d+$/).length >= 1, true, "updated with PATCH");
  } finally {
    await pr.repo.cleanup();
  }
});

test("approval: a review on an old head does not count; the owners' approval on the head satisfies it, also through a team", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "alice", state: "APPROVED", commitId: pr.baseSha });
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "dora", state: "APPROVED", commitId: pr.headSha });
    const stale = await pr.run({ solve: "false" }, "pull_request_review");
    assert.equal(stale.outputs.result, "pending", "alice approved an older commit; the author cannot approve");
    assert.equal(statusesFor(pr.headSha, "condaops/approval").at(-1)?.state, "pending");

    github.setTeam("acme", "ds-team", ["bob"]);
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "bob", state: "APPROVED", commitId: pr.headSha });
    const ok = await pr.run({ solve: "false" }, "pull_request_review");
    assert.equal(ok.code, 0);
    assert.equal(ok.outputs.result, "success");
    const approval = statusesFor(pr.headSha, "condaops/approval").at(-1);
    assert.equal(approval?.state, "success");
    assert.match(approval?.description ?? "", /approved by bob/);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /✅ approved by bob/);

    // Changes requested later by the same reviewer withdraw the approval.
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "bob", state: "CHANGES_REQUESTED", commitId: pr.headSha });
    const withdrawn = await pr.run({ solve: "false" }, "pull_request_review");
    assert.equal(withdrawn.outputs.result, "pending");
  } finally {
    await pr.repo.cleanup();
  }
});

test("a schema error is annotated at its line and fails the job and the policy status", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies:\n  - hello-prefix\n  - numpy>>=1\n" }));
  try {
    const r = await pr.run();
    assert.equal(r.code, 1);
    assert.equal(r.outputs.result, "failure");
    const a = r.annotations.find((x) => x.level === "error");
    assert.deepEqual([a?.file, a?.line, a?.column], ["ds/analysis.yaml", 3, 5]);
    assert.match(a?.message ?? "", /numpy>>=1/);
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "failure");
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /Package diff not computed: fix the policy problems first/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("a blocked package and a disallowed channel fail with the policy's reasons", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "channels: [conda-forge, sketchy]\ndependencies: [hello-prefix, six]\n" }));
  try {
    const r = await pr.run();
    assert.equal(r.code, 1);
    const messages = r.annotations.map((a) => a.message).join("\n");
    assert.match(messages, /six.*blocked.*use the standard library/s);
    assert.match(messages, /sketchy.*not allowed/);
    // At the offending entries of `channels: [conda-forge, sketchy]` and `dependencies: [hello-prefix, six]`.
    assert.deepEqual(r.annotations.map((a) => `${a.file}:${a.line}:${a.column}`).sort(), ["ds/analysis.yaml:1:25", "ds/analysis.yaml:2:30"]);
  } finally {
    await pr.repo.cleanup();
  }
});

test("a PR that edits policy.yaml is judged by the base's policy and needs the admins", async () => {
  const pr = await pullRequest(async (r) => r.write({ "policy.yaml": POLICY.replace("blocked: [{name: six", "blocked: [{name: sixteen") }));
  try {
    const r = await pr.run();
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.equal(r.outputs.result, "pending");
    assert.match(statusesFor(pr.headSha, "condaops/approval").at(-1)?.description ?? "", /the-admin/);
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "alice", state: "APPROVED", commitId: pr.headSha });
    assert.equal((await pr.run({ solve: "false" })).outputs.result, "pending", "an owner is not an admin");
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "the-admin", state: "APPROVED", commitId: pr.headSha });
    assert.equal((await pr.run({ solve: "false" })).outputs.result, "success");
  } finally {
    await pr.repo.cleanup();
  }
  // Loosening the policy in the same PR does not let a blocked package in.
  const sneaky = await pullRequest(async (r) => r.write({ "policy.yaml": POLICY.replace("six", "sixteen"), "ds/analysis.yaml": "dependencies: [hello-prefix, six]\n" }));
  try {
    const r = await sneaky.run();
    assert.equal(r.code, 1);
    assert.match(r.annotations.map((a) => a.message).join("\n"), /six.*blocked/s);
  } finally {
    await sneaky.repo.cleanup();
  }
});

test("an unsatisfiable head fails the check with the solver's explanation in the comment", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, python=9.9]\n" }));
  try {
    const r = await pr.run();
    assert.equal(r.code, 1);
    assert.equal(r.outputs.result, "failure");
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "failure");
    assert.match(statusesFor(pr.headSha, "condaops/policy").at(-1)?.description ?? "", /unsatisfiable/);
    const body = commentsOn(pr.number)[0]?.body ?? "";
    assert.match(body, /❌ ds\/analysis/);
    assert.match(body, /cannot be solved[\s\S]*python 9\.9/);
    assert.ok(r.annotations.some((a) => a.file === "ds/analysis.yaml" && /cannot be solved/.test(a.message)));
  } finally {
    await pr.repo.cleanup();
  }
});

test("a new environment shows all its packages as added; a 502 from GitHub is retried", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/fresh.yaml": "dependencies: [python=3.11]\n" }));
  try {
    github.failNext(1, { status: 502 }, { method: "POST", path: /\/statuses\// });
    const r = await pr.run();
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.ok(r.info.some((l) => /502/.test(l) && /retrying/.test(l)), r.info.join("\n"));
    const body = commentsOn(pr.number)[0]?.body ?? "";
    assert.match(body, /ds\/fresh \(new environment\)/);
    assert.match(body, /\| *\+ *\| *python *\|/);
    assert.match(statusesFor(pr.headSha, "condaops/approval").at(-1)?.description ?? "", /alice/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("hostile or incomplete event payloads are refused clearly", async () => {
  const { parseEvent } = await import("../../src/action/event.ts");
  assert.throws(() => parseEvent("pull_request", []), /not a JSON object/);
  assert.throws(() => parseEvent("pull_request", { pull_request: { number: 1, head: { sha: "x; rm -rf /" } } }), /pull_request.head.sha|repository/);
  assert.throws(() => parseEvent("pull_request", { pull_request: { number: -3 } }), /pull_request.number/);
  assert.equal(parseEvent("workflow_dispatch", {}).kind, "other");
});
