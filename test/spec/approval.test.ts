import { test } from "node:test";
import assert from "node:assert/strict";
import { formatApproval, requiredApprovals } from "../../src/spec/approval.ts";
import type { SpecSnapshot } from "../../src/spec/approval.ts";
import { readPolicy } from "../../src/spec/policy.ts";
import { parseYaml } from "../../src/spec/yaml-source.ts";
import type { Policy } from "../../src/spec/types.ts";

function policy(text: string): Policy {
  const r = readPolicy(parseYaml("policy.yaml", text));
  assert.ok(r.policy, JSON.stringify(r.findings));
  return r.policy;
}
const CF = "https://conda.anaconda.org/conda-forge";
const snap = (path: string, packages: string[], channels = [CF]): SpecSnapshot => {
  const [namespace = "", file = ""] = path.split("/");
  return { namespace, name: file.replace(/\.yaml$/, ""), path, packages, channels };
};

const P = policy(`admins: [root]
namespaces: {ds: {owners: [alice, "@acme/ds"]}, geo: {}}
approval:
  rules:
    - {when: new-package, require: owners}
    - {when: new-environment, require: owners, count: 2}
    - {when: removed-environment, require: admins}
    - {when: new-channel, require: admins}
`);

test("policy changes always need an admin, even without rules", () => {
  const r = requiredApprovals({ policy: policy("admins: [root]\n"), base: [], head: [], changedSpecs: [], policyChanged: true });
  assert.deepEqual(r, [{ event: "policy-change", approvers: ["root"], count: 1, reason: "changes policy.yaml", files: ["policy.yaml"] }]);
});

test("no rules, no spec approvals", () => {
  const r = requiredApprovals({ policy: policy("version: 1\n"), base: [snap("ds/a.yaml", ["numpy"])], head: [snap("ds/a.yaml", ["numpy", "torch"])], changedSpecs: ["ds/a.yaml"], policyChanged: false });
  assert.deepEqual(r, []);
});

test("a package no environment used before needs the namespace's owners", () => {
  const base = [snap("ds/a.yaml", ["numpy"]), snap("geo/b.yaml", ["gdal", "scipy"])];
  const head = [snap("ds/a.yaml", ["numpy", "scipy", "torch", "pip:requests"])];
  const r = requiredApprovals({ policy: P, base, head, changedSpecs: ["ds/a.yaml"], policyChanged: false });
  assert.deepEqual(r, [{ event: "new-package", namespace: "ds", approvers: ["alice", "@acme/ds"], count: 1, reason: 'adds "torch", "pip:requests", which no environment used before', files: ["ds/a.yaml"] }]);
  assert.equal(formatApproval(r[0]!), 'ds/a.yaml: adds "torch", "pip:requests", which no environment used before: needs approval from alice, @acme/ds');
});

test("a package another namespace already uses needs nothing", () => {
  const r = requiredApprovals({ policy: P, base: [snap("geo/b.yaml", ["scipy"]), snap("ds/a.yaml", [])], head: [snap("ds/a.yaml", ["scipy"])], changedSpecs: ["ds/a.yaml"], policyChanged: false });
  assert.deepEqual(r, []);
});

test("new and removed environments; a namespace without owners falls back to admins", () => {
  const r = requiredApprovals({ policy: P, base: [snap("geo/old.yaml", ["gdal"])], head: [snap("geo/new.yaml", ["gdal"])], changedSpecs: ["geo/new.yaml", "geo/old.yaml"], policyChanged: false });
  assert.deepEqual(r.map((a) => [a.event, a.approvers.join(), a.count, a.files.join()]), [
    ["new-environment", "root", 2, "geo/new.yaml"],
    ["removed-environment", "root", 1, "geo/old.yaml"],
  ]);
});

test("a new channel needs an admin", () => {
  const r = requiredApprovals({ policy: P, base: [snap("ds/a.yaml", ["numpy"])], head: [snap("ds/a.yaml", ["numpy"], [CF, "https://conda.anaconda.org/bioconda"])], changedSpecs: ["ds/a.yaml"], policyChanged: false });
  assert.deepEqual(r.map((a) => [a.event, a.approvers.join(), a.reason]), [["new-channel", "root", 'uses the channel "https://conda.anaconda.org/bioconda", which no environment used before']]);
});

test("the same requirement over several files is listed once with every file", () => {
  const r = requiredApprovals({ policy: P, base: [snap("ds/a.yaml", []), snap("ds/b.yaml", [])], head: [snap("ds/a.yaml", ["torch"]), snap("ds/b.yaml", ["jax"])], changedSpecs: ["ds/b.yaml", "ds/a.yaml"], policyChanged: false });
  assert.equal(r.length, 1);
  assert.deepEqual(r[0]?.files, ["ds/a.yaml", "ds/b.yaml"]);
  assert.match(r[0]?.reason ?? "", /"torch".*; adds "jax"/);
});
