/**
 * `mode: check` end to end, in process: a real git repository with a base branch and a PR head,
 * the fixture channels on 127.0.0.1, a fake GitHub API that records every request, and a runner
 * that records annotations and outputs as the Actions runner would show them.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAction } from "../../src/action/run-action.ts";
import { parseCondaLock, serializeCondaLock } from "../../src/builder/lock/conda-lock-v1.ts";
import type { Lock } from "../../src/builder/lock/types.ts";
import { isCondaopsError } from "../../src/errors.ts";
import { runCli } from "../support/run-cli.ts";
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
/** A fork PR's GITHUB_TOKEN on pull_request: read-only. */
const FORK_TOKEN = "ghs_forkReadOnlyToken0123456789abcdef";
/** GITHUB_TOKEN as it really is: it cannot see the org's teams (404). */
const NO_ORG_TOKEN = "ghs_noOrgAccessToken0123456789abcdef";
let channels: ChannelServer;
let github: FakeGitHub;
let work: string;

before(async () => {
  channels = await serveChannels((await sharedUniverse()).dir);
  github = await startFakeGitHub({
    tokens: [TOKEN, FORK_TOKEN, NO_ORG_TOKEN],
    identities: { [FORK_TOKEN]: { login: "github-actions[bot]", readOnly: true }, [NO_ORG_TOKEN]: { login: "github-actions[bot]", orgAccess: false } },
  });
  work = await mkdtemp(join(tmpdir(), "condaops-action-"));
  await writeFile(join(work, "condaops.config.yaml"), `cache_dir: ${join(work, "cache")}\n`);
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
  warnings: string[];
  summary: string;
  secrets: string[];
}

function recorder(inputs: Record<string, string>): Runner & { rec: Recorded } {
  const rec: Recorded = { annotations: [], outputs: {}, info: [], warnings: [], summary: "", secrets: [] };
  return {
    rec,
    input: (name) => inputs[name] ?? "",
    output: (name, value) => void (rec.outputs[name] = value),
    annotate: (level, message, at) => void rec.annotations.push({ level, message, file: at.file, line: at.line, column: at.column }),
    summary: async (markdown) => void (rec.summary += markdown),
    info: (line) => void rec.info.push(line),
    warning: (message) => void rec.warnings.push(message),
    secret: (value) => void rec.secrets.push(value),
  };
}

let prNumber = 0;

interface PullRequestOptions {
  /** Files of the first commit on main (over policy.yaml = POLICY and ds/analysis.yaml). */
  base?: Record<string, string>;
  /** Changes committed on main after the PR branched off: the base tip moves on. */
  mainAfter?: (repo: TestRepo) => Promise<void>;
  /** Extra event payload fields, merged into pull_request and repository. */
  fork?: boolean;
}

/** A repository with `main` (the base) and a PR branch made by `change`; returns what the Action needs. */
async function pullRequest(change: (repo: TestRepo) => Promise<void>, base: Record<string, string> = {}, opts: PullRequestOptions = {}) {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/analysis.yaml": "dependencies: [hello-prefix]\n", ...base, ...opts.base });
  let baseSha = repo.commit("base");
  repo.git("checkout", "-q", "-b", "feature");
  await change(repo);
  const headSha = repo.commit("the change");
  if (opts.mainAfter) {
    repo.git("checkout", "-q", "main");
    await opts.mainAfter(repo);
    baseSha = repo.commit("main moves on", "2024-05-02T12:00:00Z");
    repo.git("checkout", "-q", "feature");
  }
  const number = ++prNumber;
  const event = join(work, `event-${number}.json`);
  await writeFile(
    event,
    JSON.stringify({
      action: "synchronize",
      number,
      pull_request: {
        number,
        head: { sha: headSha, ref: "feature", repo: { full_name: opts.fork ? "mallory/envs" : "acme/envs" } },
        base: { sha: baseSha, ref: "main", repo: { full_name: "acme/envs" } },
        user: { login: "dora" },
      },
      repository: { name: "envs", full_name: "acme/envs", owner: { login: "acme" }, default_branch: "main" },
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

test("a policy tightened on the base branch after the PR's last push judges later runs (the payload's base is stale)", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    assert.equal((await pr.run({ solve: "false" })).outputs.result, "pending", "allowed by the policy at the payload's base");
    pr.repo.git("checkout", "-q", "main");
    await pr.repo.write({ "policy.yaml": POLICY.replace("blocked: [{name: six", "blocked: [{name: libzlib, reason: tightened}, {name: six") });
    const tip = pr.repo.commit("block libzlib");
    pr.repo.git("update-ref", "refs/remotes/origin/main", tip);
    pr.repo.git("checkout", "-q", "feature");
    const r = await pr.run({ solve: "false" }, "pull_request_review");
    assert.equal(r.code, 1);
    assert.match(r.annotations.map((a) => a.message).join("\n"), /libzlib.*blocked.*tightened/s);
    assert.ok(r.info.some((l) => l.includes(`judging by ${tip.slice(0, 12)}`)));
  } finally {
    await pr.repo.cleanup();
  }
});

test("a PR that changes condaops.config.yaml needs the policy's admins", async () => {
  const pr = await pullRequest(async (r) => r.write({ "condaops.config.yaml": "install: {concurrency: 2}\n" }));
  try {
    const r = await pr.run({ solve: "false" });
    assert.equal(r.code, 0);
    assert.equal(r.outputs.result, "pending");
    assert.match(statusesFor(pr.headSha, "condaops/approval").at(-1)?.description ?? "", /the-admin/);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /changes condaops\.config\.yaml/);
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "the-admin", state: "APPROVED", commitId: pr.headSha });
    assert.equal((await pr.run({ solve: "false" })).outputs.result, "success");
  } finally {
    await pr.repo.cleanup();
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
  const payload = (head: unknown) => ({ pull_request: { number: 1, head: { sha: "a".repeat(40), repo: head }, base: { sha: "b".repeat(40), ref: "main" }, user: { login: "dora" } }, repository: { name: "envs", full_name: "acme/envs", owner: { login: "acme" } } });
  const fork = (head: unknown) => {
    const e = parseEvent("pull_request", payload(head));
    return e.kind === "pull_request" ? e.pull.fromFork : undefined;
  };
  assert.equal(fork({ full_name: "acme/envs" }), false);
  assert.equal(fork({ full_name: "Mallory/envs" }), true);
  assert.equal(fork(null), true, "a deleted fork");
});

// ---------------------------------------------------------------------------------------------
// Committed locks, the configuration, comments, injection, forks, failures, teams, bases, policy edits.

/** Writes ds/analysis.lock.yml with `condaops lock` (against the fixture channels), then lets `edit` tamper with it. */
async function writeLock(repo: TestRepo, edit?: (lock: Lock) => Lock): Promise<void> {
  const r = await runCli("lock", join(repo.dir, "ds/analysis.yaml"), "--channel-alias", channels.url, "--config", join(work, "condaops.config.yaml"));
  assert.equal(r.code, 0, r.stderr);
  if (!edit) return;
  const path = join(repo.dir, "ds/analysis.lock.yml");
  await writeFile(path, serializeCondaLock(edit(parseCondaLock(path, await readFile(path, "utf8")))));
}

const ANY_CHANGE_POLICY = `${POLICY}    - {when: any-change, require: owners}\n`;

test("a lock-only PR is a change of its environment: owners approve it, its diff is shown", async () => {
  const pr = await pullRequest(async (r) => writeLock(r), {}, { base: { "policy.yaml": ANY_CHANGE_POLICY } });
  try {
    const r = await pr.run();
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.deepEqual(JSON.parse(r.outputs["changed-environments"] ?? "[]"), ["ds/analysis"]);
    assert.equal(r.outputs.result, "pending", "the owners must approve a lock change");
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "success");
    assert.match(statusesFor(pr.headSha, "condaops/approval").at(-1)?.description ?? "", /alice or @acme\/ds-team/);
    const body = commentsOn(pr.number)[0]?.body ?? "";
    assert.match(body, /changes ds\/analysis/);
    assert.match(body, /ds\/analysis \(changed\)/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("a lock-only PR whose lock adds a blocked package or one from a foreign channel fails", async () => {
  const pr = await pullRequest(
    async (r) =>
      writeLock(r, (lock) => {
        const hello = lock.packages.find((p) => p.name === "hello-prefix");
        assert.ok(hello, "the lock has hello-prefix");
        const evil = "https://evil.example/conda-forge";
        const six = { ...hello, name: "six", version: "1.16.0", build: "pyhd8ed1ab_0", filename: "six-1.16.0-pyhd8ed1ab_0.tar.bz2" };
        six.url = `${six.channel}/noarch/${six.filename}`;
        const moved = { ...hello, channel: evil, url: `${evil}/noarch/${hello.filename}` };
        return { ...lock, packages: [...lock.packages.filter((p) => p !== hello), moved, six] };
      }),
    {},
    { base: { "policy.yaml": ANY_CHANGE_POLICY } },
  );
  try {
    const r = await pr.run();
    assert.equal(r.code, 1, r.info.join("\n"));
    assert.equal(r.outputs.result, "failure");
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "failure");
    const onLock = r.annotations.filter((a) => a.level === "error" && a.file === "ds/analysis.lock.yml").map((a) => a.message).join("\n");
    assert.match(onLock, /six 1\.16\.0 .* is blocked by policy/);
    assert.match(onLock, /evil\.example\/conda-forge, which is not one of the spec's channels/);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /blocked by policy/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("the configuration is the base commit's: a PR's condaops.config.yaml (channel alias, token file) has no effect", async () => {
  const seen: string[] = [];
  const evil = createServer((req, res) => {
    seen.push(`${req.method ?? ""} ${req.url ?? ""} ${req.headers.authorization ?? ""}`);
    res.writeHead(404).end();
  });
  await new Promise<void>((ok) => evil.listen(0, "127.0.0.1", ok));
  const evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  const baseConfig = `channel_alias: ${channels.url}\ncache_dir: ${join(work, "cache")}\n`;
  const pr = await pullRequest(
    async (r) =>
      r.write({
        "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n",
        "condaops.config.yaml": [
          `channel_alias: ${evilUrl}`,
          `cache_dir: ${join(work, "cache-from-the-pr")}`,
          "channels:",
          "  credentials:",
          `    - {prefix: "${channels.url}", token_file: .git/config, bearer: true}`,
          `    - {prefix: "${evilUrl}", token_file: .git/config}`,
          "",
        ].join("\n"),
      }),
    {},
    { base: { "condaops.config.yaml": baseConfig } },
  );
  try {
    const from = channels.requests.length;
    const r = await pr.run({ config: "", "channel-alias": "" });
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /\| *\+ *\| *libzlib/, "solved against the base configuration's channel alias");
    assert.deepEqual(seen, [], "nothing was sent to the PR's channel alias");
    const gitConfig = await readFile(join(pr.repo.dir, ".git/config"), "utf8");
    for (const q of channels.requests.slice(from)) {
      assert.equal(q.headers.authorization, undefined, "no credentials from the PR's token_file");
      assert.ok(!q.url.startsWith("/t/") && !q.url.includes(encodeURIComponent(gitConfig.trim().slice(0, 10))));
    }
  } finally {
    await pr.repo.cleanup();
    await new Promise<void>((ok) => evil.close(() => ok()));
  }
});

test("a human's comment that carries the report marker is never edited: the report is a new comment", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    const fake = `${REPORT_MARKER}\n## condaops: ✅ policy passes · ✅ approved`;
    const human = github.addComment({ owner: "acme", repo: "envs", issueNumber: pr.number, body: fake, user: "mallory" });
    const r = await pr.run({ solve: "false" });
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.equal(github.state.comments.find((c) => c.id === human.id)?.body, fake, "mallory's comment is untouched");
    assert.equal(github.requestsTo("PATCH", `/repos/acme/envs/issues/comments/${human.id}`).length, 0);
    const ours = commentsOn(pr.number).filter((c) => c.id !== human.id);
    assert.equal(ours.length, 1);
    assert.equal(ours[0]?.user.login, "github-actions[bot]");
    assert.match(ours[0]?.body ?? "", /approval pending/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("paths and spec text cannot forge Markdown or mention anyone in the report", async () => {
  const hostileName = "ds/x`\n## condaops: ✅ @evil/team #12.yaml";
  const pr = await pullRequest(async (r) =>
    r.write({ [hostileName]: "dependencies: [hello-prefix]\n", "ds/analysis.yaml": 'dependencies: [hello-prefix, "x`\\n## condaops: ✅ @evil/team #12"]\n' }),
  );
  try {
    const r = await pr.run();
    assert.equal(r.code, 1);
    const body = commentsOn(pr.number)[0]?.body ?? "";
    assert.deepEqual(body.split("\n").filter((l) => /^\s*#+\s*condaops/.test(l)), [body.split("\n").find((l) => l.startsWith("## condaops: ❌"))], body);
    assert.ok(!body.includes("@evil/team"), "no live mention");
    assert.ok(!/#12\b/.test(body), "no live issue reference");
    assert.match(body, /@\u200devil\/team/);
    assert.ok(!body.includes("`ds/x`"), "no path in a code span");
  } finally {
    await pr.repo.cleanup();
  }
});

test("a fork PR whose token cannot write: warnings, the full report in the job summary, the exit code of the policy", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }), {}, { fork: true });
  try {
    const statuses = github.state.statuses.length;
    const requests = github.requests.length;
    const r = await pr.run({ token: FORK_TOKEN });
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.equal(r.outputs.result, "pending");
    const writes = github.requests.slice(requests).filter((q) => q.method === "POST" || q.method === "PATCH");
    assert.deepEqual([...new Set(writes.map((q) => q.status))], [403], "it tried, once per kind");
    assert.equal(writes.length, 2);
    assert.equal(github.state.statuses.length, statuses);
    assert.equal(commentsOn(pr.number).length, 0);
    assert.ok(r.warnings.some((w) => /fork/.test(w) && /job summary/.test(w)), r.warnings.join("\n"));
    assert.match(r.summary, /\| *\+ *\| *libzlib *\| *\| *1\.3\.1/);
    assert.match(r.summary, /policy passes/);
  } finally {
    await pr.repo.cleanup();
  }
  // A failing policy still fails the job.
  const bad = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, six]\n" }), {}, { fork: true });
  try {
    const r = await bad.run({ token: FORK_TOKEN });
    assert.equal(r.code, 1);
    assert.match(r.summary, /six.*blocked/s);
  } finally {
    await bad.repo.cleanup();
  }
});

test("the statuses go pending first; a channel failure sets both to error and exits 3", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  const config = join(work, "fresh-cache.config.yaml");
  await writeFile(config, `cache_dir: ${join(work, "cache-fresh")}\n`);
  channels.hook("/conda-forge/", { kind: "fail", status: 500 });
  try {
    const from = github.state.statuses.length;
    await assert.rejects(pr.run({ config }), (e: unknown) => isCondaopsError(e) && e.exitCode === 3);
    for (const context of ["condaops/policy", "condaops/approval"]) {
      const states = github.state.statuses.slice(from).filter((s) => s.sha === pr.headSha && s.context === context);
      assert.equal(states[0]?.state, "pending", `${context} starts pending`);
      assert.equal(states.at(-1)?.state, "error", `${context} ends in error`);
      assert.match(states.at(-1)?.description ?? "", /infrastructure/);
    }
  } finally {
    channels.clearHooks();
    await pr.repo.cleanup();
  }
});

test("a head commit missing from the checkout says how to fetch it (pull_request_target)", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    const event = join(work, `event-missing-${pr.number}.json`);
    const missing = "f".repeat(40);
    await writeFile(event, JSON.stringify({ number: pr.number, pull_request: { number: pr.number, head: { sha: missing, ref: "feature" }, base: { sha: pr.baseSha, ref: "main" }, user: { login: "dora" } }, repository: { name: "envs", owner: { login: "acme" } } }));
    const runner = recorder({ mode: "check", token: TOKEN, "channel-alias": channels.url, config: join(work, "condaops.config.yaml") });
    await assert.rejects(
      runAction({ GITHUB_EVENT_NAME: "pull_request_target", GITHUB_EVENT_PATH: event, GITHUB_API_URL: github.url, GITHUB_WORKSPACE: pr.repo.dir }, runner, { github: { minWriteIntervalMs: 0 } }),
      (e: unknown) => isCondaopsError(e) && /ffffffffffff is not in the checkout/.test(e.message) && /refs\/pull\/\d+\/head/.test(e.hint ?? ""),
    );
    assert.equal(statusesFor(missing, "condaops/policy").at(-1)?.state, "error");
  } finally {
    await pr.repo.cleanup();
  }
});

test("a team approver the token cannot see: the status and the report say so", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }));
  try {
    github.setTeam("acme", "ds-team", ["bob"]);
    github.addReview({ owner: "acme", repo: "envs", pullNumber: pr.number, user: "bob", state: "APPROVED", commitId: pr.headSha });
    const blind = await pr.run({ solve: "false", token: NO_ORG_TOKEN });
    assert.equal(blind.outputs.result, "pending");
    const status = statusesFor(pr.headSha, "condaops/approval").at(-1);
    assert.match(status?.description ?? "", /may not see org teams.*GITHUB_TOKEN.*read:org/);
    assert.ok((status?.description ?? "").length <= 140);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /may not see the members of org teams/);
    const seeing = await pr.run({ solve: "false" });
    assert.equal(seeing.outputs.result, "success");
    assert.doesNotMatch(statusesFor(pr.headSha, "condaops/approval").at(-1)?.description ?? "", /org teams/);
    assert.doesNotMatch(commentsOn(pr.number)[0]?.body ?? "", /org teams/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("the diff starts at the merge base: what main changed after the branch point is not shown as reverted", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/b.yaml": "dependencies:\n  - hello-prefix\n  - libgomp\n" }), { "ds/b.yaml": "dependencies:\n  - hello-prefix\n" }, {
    mainAfter: async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n", "ds/b.yaml": "dependencies:\n  - libzlib\n  - hello-prefix\n" }),
  });
  try {
    const r = await pr.run();
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.deepEqual(JSON.parse(r.outputs["changed-environments"] ?? "[]"), ["ds/b"]);
    const body = commentsOn(pr.number)[0]?.body ?? "";
    assert.match(body, /ds\/b \(changed\)/);
    assert.match(body, /\| *\+ *\| *libgomp/);
    assert.doesNotMatch(body, /ds\/analysis/);
    assert.doesNotMatch(body, /\| *- *\| *libzlib/, "main's libzlib is not shown as removed");
    assert.match(body, /judged by policy\.yaml at [0-9a-f]{40} \([0-9a-f]{12}\)/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("a policy edit shows, as warnings, what the new policy rejects", async () => {
  const stricter = POLICY.replace('blocked: [{name: six, reason: "use the standard library"}]', 'blocked: [{name: six, reason: "use the standard library"}, {name: hello-prefix, reason: "retired"}]');
  const pr = await pullRequest(async (r) => r.write({ "policy.yaml": stricter }));
  try {
    const r = await pr.run({ solve: "false" });
    assert.equal(r.code, 0, r.info.join("\n"));
    assert.equal(statusesFor(pr.headSha, "condaops/policy").at(-1)?.state, "success", "judged by the current policy");
    const warned = r.annotations.filter((a) => a.level === "warning" && a.file === "ds/analysis.yaml");
    assert.ok(warned.length > 0, JSON.stringify(r.annotations));
    assert.ok(warned.every((a) => a.message.startsWith("with the new policy: ")));
    assert.match(warned.map((a) => a.message).join("\n"), /hello-prefix.*retired/s);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /with the new policy: .*hello-prefix/);
  } finally {
    await pr.repo.cleanup();
  }
});

test("an invalid base policy: approval stays pending, never 'no approval needed'", async () => {
  const pr = await pullRequest(async (r) => r.write({ "ds/analysis.yaml": "dependencies: [hello-prefix, libzlib]\n" }), {}, { base: { "policy.yaml": "admins: 5\napproval: nonsense\n" } });
  try {
    const r = await pr.run({ solve: "false" });
    assert.equal(r.code, 1);
    const approval = statusesFor(pr.headSha, "condaops/approval").at(-1);
    assert.equal(approval?.state, "pending");
    assert.match(approval?.description ?? "", /the base policy\.yaml is invalid/);
    assert.match(commentsOn(pr.number)[0]?.body ?? "", /⏳ the base policy\.yaml is invalid/);
  } finally {
    await pr.repo.cleanup();
  }
});
