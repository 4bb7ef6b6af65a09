import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { createTestRepo } from "../support/git-repo.ts";
import { json, runCli } from "../support/run-cli.ts";
import type { Finding } from "../../src/spec/finding.ts";
import type { ApprovalRequirement } from "../../src/spec/approval.ts";

const POLICY = `admins: ["@acme/platform"]
channels: {allowed: [conda-forge]}
packages:
  blocked: [{name: pycrypto, reason: unmaintained}]
namespaces:
  ds: {owners: [alice, "@acme/ds"], packages: {required: [python]}}
approval:
  rules:
    - {when: new-package, require: owners}
    - {when: new-channel, require: admins}
`;
const ML = "name: ml\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy\n";

interface Report {
  ok: boolean;
  findings: Finding[];
  specs: { path: string; specHash?: string; valid: boolean }[];
  approvals: ApprovalRequirement[];
}

test("the sample repository in environments/ is valid", async () => {
  const r = await runCli("validate", "--repo", "environments");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok: checked 5 specs/);
  const j = json<Report>(await runCli("validate", "--repo", "environments", "--json"));
  assert.equal(j.ok, true);
  assert.deepEqual(j.specs.map((s) => s.path), ["data-science/analytics.yaml", "data-science/nlp.yaml", "geo/gdal.yaml", "ml/gpu.yaml", "tools/cli.yaml"]);
  assert.ok(j.specs.every((s) => /^[0-9a-f]{64}$/.test(s.specHash ?? "")));
});

test("an invalid spec: exit 1 and the error reads file:line:column: what and why", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": "name: ml\nchannels:\n  - conda-forge\ndependencies:\n  - python\n  - pandas\n  - numpy>>=1\n" });
  t.after(() => repo.cleanup());
  const r = await runCli("validate", "--repo", repo.dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ds\/ml\.yaml:7:5: "numpy>>=1" is not a valid match spec \(version operator ">>="\)$/m);
  const j = json<Report>(await runCli("validate", "--repo", repo.dir, "--json"));
  assert.equal(j.ok, false);
  assert.deepEqual(j.findings, [{ file: "ds/ml.yaml", line: 7, column: 5, rule: "spec.match-spec", message: '"numpy>>=1" is not a valid match spec (version operator ">>=")', severity: "error" }]);
});

test("policy violations are findings at the spec's line", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": "channels: [conda-forge, bioconda]\ndependencies:\n  - numpy\n  - pycrypto\n" });
  t.after(() => repo.cleanup());
  const j = json<Report>(await runCli("validate", "--repo", repo.dir, "--json"));
  assert.deepEqual(
    j.findings.map((f) => `${f.line}:${f.column} ${f.rule}`).sort(),
    ["1:25 policy.channel-not-allowed", "2:1 policy.required-missing", "4:5 policy.blocked"].sort(),
  );
});

test("FILE arguments check only those files; the repository is the folder holding the namespace", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": ML, "ds/broken.yaml": "dependencies: [numpy>>=1]\n" });
  t.after(() => repo.cleanup());
  const r = await runCli("validate", join(repo.dir, "ds/ml.yaml"), "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(json<Report>(r).specs.map((s) => s.path), ["ds/ml.yaml"]);
  assert.equal((await runCli("validate", join(repo.dir, "ds/broken.yaml"))).code, 1);
});

test("--effective prints the effective spec and its hash", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY.replace("packages:\n  blocked", "packages:\n  included: [ipykernel]\n  blocked"), "ds/ml.yaml": ML });
  t.after(() => repo.cleanup());
  const r = await runCli("validate", "--effective", join(repo.dir, "ds/ml.yaml"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /dependencies:\n {2}- python 3\.11\.\*\n {2}- numpy\n {2}- ipykernel\n/);
  assert.match(r.stdout, /blocked:\n {2}- pycrypto\n/);
  assert.match(r.stdout, /^# spec hash: sha256:[0-9a-f]{64}$/m);
  const j = json<{ specHash: string; effective: { dependencies: string[]; channels: string[] } }>(await runCli("validate", "--json", "--effective", join(repo.dir, "ds/ml.yaml")));
  assert.deepEqual(j.effective.channels, ["https://conda.anaconda.org/conda-forge"]);
  assert.equal(r.stdout.includes(j.specHash), true, "the JSON and the text agree on the hash");
});

test("--base refuses a pull request that edits the policy to let itself through", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": ML });
  t.after(() => repo.cleanup());
  repo.commit("main");
  repo.git("checkout", "-q", "-b", "pr");
  await repo.write({
    "policy.yaml": POLICY.replace("allowed: [conda-forge]", "allowed: [conda-forge, sketchy]"),
    "ds/new.yaml": "channels: [conda-forge, sketchy]\ndependencies: [python, torch]\n",
  });
  repo.commit("allow sketchy and use it");

  const r = await runCli("validate", "--repo", repo.dir, "--base", "main", "--head", "pr", "--json");
  assert.equal(r.code, 1, "judged by main's policy, the new channel is not allowed");
  const j = json<Report>(r);
  assert.deepEqual(j.findings.map((f) => [f.file, f.rule]), [["ds/new.yaml", "policy.channel-not-allowed"]]);
  const events = j.approvals.map((a) => [a.event, a.approvers.join(" ")]);
  assert.deepEqual(events, [
    ["policy-change", "@acme/platform"],
    ["new-package", "alice @acme/ds"],
    ["new-channel", "@acme/platform"],
  ]);
  assert.match(j.approvals[1]?.reason ?? "", /adds "torch", which no environment used before/);

  // Once the policy change is merged on its own, the same spec passes.
  repo.git("checkout", "-q", "main");
  await repo.write({ "policy.yaml": POLICY.replace("allowed: [conda-forge]", "allowed: [conda-forge, sketchy]") });
  repo.commit("admins allow sketchy");
  repo.git("checkout", "-q", "pr");
  repo.git("rebase", "-q", "main");
  const again = await runCli("validate", "--repo", repo.dir, "--base", "main", "--head", "pr");
  assert.equal(again.code, 0, again.stderr);
});

test("--base checks only what changed, against the working tree by default", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": ML, "ds/old.yaml": "dependencies: [python, pycrypto]\n" });
  t.after(() => repo.cleanup());
  repo.commit("main, with an old spec the policy now refuses");
  await repo.write({ "ds/ml.yaml": ML.replace("numpy", "numpy>=1.26") });
  const r = await runCli("validate", "--repo", repo.dir, "--base", "HEAD", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(json<Report>(r).specs.map((s) => s.path), ["ds/ml.yaml"]);
  assert.deepEqual(json<Report>(r).approvals, [], "numpy was used before: no approval");
  assert.equal((await runCli("validate", "--repo", repo.dir)).code, 1, "without --base the old spec is checked");
});

test("--base with a broken policy.yaml in the change reports it", async (t) => {
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": ML });
  t.after(() => repo.cleanup());
  repo.commit("main");
  await writeFile(join(repo.dir, "policy.yaml"), "channels: {allowed: conda-forge}\n");
  const j = json<Report>(await runCli("validate", "--repo", repo.dir, "--base", "HEAD", "--json"));
  assert.deepEqual(j.findings.map((f) => `${f.file}:${f.line} ${f.rule}`), ["policy.yaml:1 schema.type"]);
  assert.deepEqual(j.approvals.map((a) => a.event), ["policy-change"]);
});

test("files in the wrong place or with hostile names are errors, not skipped", async (t) => {
  const repo = await createTestRepo({
    "policy.yaml": "version: 1\n",
    "ds/ok.yaml": "dependencies: [python]\n",
    "ds/my env.yaml": "dependencies: [python]\n",
    "ds/.hidden.yaml": "dependencies: [python]\n",
    "ds/sub/deep.yaml": "dependencies: [python]\n",
    "ds/legacy.yml": "dependencies: [python]\n",
    "bad ns/x.yaml": "dependencies: [python]\n",
    "stray.yaml": "dependencies: [python]\n",
    ".github/workflows/ci.yaml": "on: push\n",
    "README.md": "# envs\n",
  });
  t.after(() => repo.cleanup());
  const j = json<Report>(await runCli("validate", "--repo", repo.dir, "--json"));
  const byFile = Object.fromEntries(j.findings.map((f) => [f.file, f.message]));
  assert.deepEqual(Object.keys(byFile).sort(), ["bad ns/x.yaml", "ds/.hidden.yaml", "ds/legacy.yml", "ds/my env.yaml", "ds/sub/deep.yaml", "stray.yaml"]);
  assert.match(byFile["ds/my env.yaml"] ?? "", /contains a space/);
  assert.match(byFile["ds/.hidden.yaml"] ?? "", /starts with "\."/);
  assert.match(byFile["ds/sub/deep.yaml"] ?? "", /one folder deep/);
  assert.match(byFile["ds/legacy.yml"] ?? "", /rename it to ds\/legacy\.yaml/);
  assert.deepEqual(j.specs.map((s) => s.path), ["ds/ok.yaml"]);
});

test("a huge spec is refused by its size, before it is read", async (t) => {
  const repo = await createTestRepo({ "ds/big.yaml": `dependencies:\n${"  - python\n".repeat(5_000_000 / 11)}` });
  t.after(() => repo.cleanup());
  const j = json<Report>(await runCli("validate", "--repo", repo.dir, "--json"));
  assert.deepEqual(j.findings.map((f) => f.rule), ["yaml.too-large"]);
});

test("usage errors exit 2 and say what to do", async (t) => {
  const repo = await createTestRepo({ "ds/ml.yaml": ML });
  t.after(() => repo.cleanup());
  repo.commit("c");
  assert.equal((await runCli("validate", "--repo", repo.dir, "--no-such-flag")).code, 2);
  const head = await runCli("validate", "--repo", repo.dir, "--head", "HEAD");
  assert.equal(head.code, 2);
  assert.match(head.stderr, /--head needs --base/);
  const ref = await runCli("validate", "--repo", repo.dir, "--base", "no-such-branch");
  assert.equal(ref.code, 2);
  assert.match(ref.stderr, /"no-such-branch" is not a commit/);
  const outside = await runCli("validate", "--repo", repo.dir, "/etc/hosts");
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /not inside the repository/);
  const json2 = await runCli("validate", "--repo", repo.dir, "--base", "nope", "--json");
  assert.equal(JSON.parse(json2.stdout).error.code, "git.unknown-ref");
});

test("a committed lock that no longer matches its spec is a warning; a broken one is an error", async (t) => {
  const { serializeCondaLock } = await import("../../src/builder/lock/conda-lock-v1.ts");
  const repo = await createTestRepo({ "policy.yaml": POLICY, "ds/ml.yaml": ML });
  t.after(() => repo.cleanup());
  const specHash = (json<Report>(await runCli("validate", "--repo", repo.dir, "--json")).specs[0]?.specHash ?? "") as string;
  const lockFor = (hash: string) => serializeCondaLock({ platforms: ["linux-64"], channels: ["https://conda.anaconda.org/conda-forge"], contentHash: { "linux-64": hash }, sources: ["ds/ml.yaml"], packages: [], metadata: {} });
  await repo.write({ "ds/ml.lock.yml": lockFor(specHash) });
  // A matching lock is built verbatim, so it is held to the policy: this one installs nothing the spec asks for.
  const empty = await runCli("validate", "--repo", repo.dir, "--json");
  assert.equal(empty.code, 1);
  const policyFindings = json<Report>(empty).findings;
  assert.ok(policyFindings.length > 0 && policyFindings.every((f) => f.file === "ds/ml.lock.yml" && f.rule === "lock.policy" && f.severity === "error"), JSON.stringify(policyFindings));
  assert.match(policyFindings.map((f) => f.message).join("\n"), /is requested by the spec but not in the lock for linux-64/);
  await repo.write({ "ds/ml.lock.yml": lockFor("f".repeat(64)) });
  const stale = await runCli("validate", "--repo", repo.dir, "--json");
  assert.equal(stale.code, 0, "a stale lock does not fail validation");
  assert.deepEqual(json<Report>(stale).findings.map((f) => [f.file, f.rule, f.severity]), [["ds/ml.lock.yml", "lock.stale", "warning"]]);
  await repo.write({ "ds/ml.lock.yml": "version: 1\npackage: nope\n" });
  const broken = await runCli("validate", "--repo", repo.dir);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^ds\/ml\.lock\.yml:\d+:\d+: /m);
});
