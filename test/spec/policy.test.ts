import { test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_POLICY, ownersOf, policyFor, readPolicy } from "../../src/spec/policy.ts";
import { parseYaml } from "../../src/spec/yaml-source.ts";
import { formatFinding } from "../../src/spec/finding.ts";
import type { Finding } from "../../src/spec/finding.ts";
import type { Policy } from "../../src/spec/types.ts";

function read(text: string) {
  return readPolicy(parseYaml("policy.yaml", text));
}
function ok(text: string): Policy {
  const r = read(text);
  assert.deepEqual(r.findings.map(formatFinding), []);
  assert.ok(r.policy);
  return r.policy;
}
function only(findings: Finding[]): Finding {
  assert.equal(findings.length, 1, findings.map(formatFinding).join("\n"));
  return findings[0] as Finding;
}

test("an empty mapping is the default policy", () => {
  assert.deepEqual(ok("version: 1\n"), DEFAULT_POLICY);
  assert.deepEqual(DEFAULT_POLICY.global.channels.default, ["conda-forge"], "conda-store's conda_default_channels default");
  assert.equal(DEFAULT_POLICY.channelAlias, "https://conda.anaconda.org");
});

test("every section is read into typed values", () => {
  const p = ok(`
admins: ["@acme/platform"]
channels: {alias: "https://mirror.example.org/conda", default: [conda-forge], allowed: [conda-forge, bioconda]}
platforms: [linux-64, osx-arm64]
packages:
  default: [python]
  required: [python]
  included: [ipykernel]
  pinned: {Python: "3.11", numpy: ">=1.26 , <2"}
  blocked: [pycrypto, {name: "openssl<3", reason: end of life}]
pip:
  included: [requests]
  blocked: [{name: "tensorflow-cpu", reason: use conda}]
namespaces:
  ds: {owners: [alice, "@acme/ds"], packages: {included: [jupyterlab]}}
approval:
  rules: [{when: new-package, require: owners}, {when: new-channel, require: admins, count: 2}]
build:
  artifacts: [yaml, sbom]
  as_of: none
  retention: {keep_last: 5, pinned: [ABCDEF1234]}
`);
  assert.equal(p.channelAlias, "https://mirror.example.org/conda");
  assert.deepEqual(p.global.packages.pinned, { python: "3.11.*", numpy: ">=1.26,<2" }, "pins are normalised version specs (a bare version is its series, as python=3.11), names lower case");
  assert.deepEqual(p.global.packages.blocked.map((b) => [b.spec.name, b.spec.version, b.reason]), [["pycrypto", undefined, undefined], ["openssl", "<3", "end of life"]]);
  assert.deepEqual(p.global.pip.blocked, [{ text: "tensorflow-cpu", name: "tensorflow-cpu", specifier: "", reason: "use conda" }]);
  assert.deepEqual(p.approval, [{ when: "new-package", require: "owners", count: 1 }, { when: "new-channel", require: "admins", count: 2 }]);
  assert.deepEqual(p.global.build.artifacts, ["lock", "yaml", "sbom", "log"], "lock and log are always published");
  assert.equal(p.global.build.asOf, "none");
  assert.deepEqual(p.global.build.retention, { keepLast: 5, keepOnDelete: ["lock", "explicit", "yaml", "log", "sbom"], pinned: ["abcdef1234"] }, "pinned commits are compared lower case");
  assert.deepEqual(ownersOf(p, "ds"), ["alice", "@acme/ds"]);
  assert.deepEqual(ownersOf(p, "geo"), ["@acme/platform"], "a namespace without owners falls back to the admins");
});

test("namespace overrides replace a list whole, as in conda-store, and leave the rest", () => {
  const p = ok(`
channels: {allowed: [conda-forge]}
packages: {required: [python], included: [ipykernel, pip]}
namespaces:
  gpu:
    channels: {allowed: [conda-forge, nvidia]}
    packages: {included: [cuda-version]}
`);
  const gpu = policyFor(p, "gpu");
  assert.deepEqual(gpu.channels.allowed, ["conda-forge", "nvidia"]);
  assert.deepEqual(gpu.packages.included, ["cuda-version"], "replaced, not merged");
  assert.deepEqual(gpu.packages.required, ["python"], "what the namespace does not set is inherited");
  assert.deepEqual(gpu.channels.default, ["conda-forge"]);
  assert.deepEqual(policyFor(p, "other").packages.included, ["ipykernel", "pip"]);
});

test("a namespace's build.retention merges key by key over the global one, and keeps the global pins", () => {
  const p = ok(`
build:
  retention: {keep_last: 5, keep_on_delete: [lock, log], pinned: [3F2A9C1E07]}
namespaces:
  ds: {build: {retention: {keep_last: 2}}}
  geo: {build: {retention: {keep_on_delete: [lock], pinned: [abcdef1, 3f2a9c1e07]}}}
  ml: {build: {as_of: none}}
`);
  assert.deepEqual(policyFor(p, "ds").build.retention, { keepLast: 2, keepOnDelete: ["lock", "log"], pinned: ["3f2a9c1e07"] }, "keep_last replaced; keep_on_delete and the pin inherited, not the defaults");
  assert.deepEqual(policyFor(p, "geo").build.retention, { keepLast: 5, keepOnDelete: ["lock"], pinned: ["3f2a9c1e07", "abcdef1"] }, "pins are the union of both levels, each once");
  assert.deepEqual(policyFor(p, "ml").build.retention, p.global.build.retention, "a namespace that does not write retention inherits it whole");
  assert.deepEqual(policyFor(p, "other").build.retention, p.global.build.retention);
});

test("a namespace's retention over the default global one uses the defaults for what it does not write", () => {
  const p = ok("namespaces:\n  ds: {build: {retention: {pinned: [abcdef1]}}}\n");
  assert.deepEqual(policyFor(p, "ds").build.retention, { keepOnDelete: DEFAULT_POLICY.global.build.retention.keepOnDelete, pinned: ["abcdef1"] });
  assert.deepEqual(p.global.build.retention, DEFAULT_POLICY.global.build.retention);
});

test("policyFor keeps the global pins and keep_last even for overrides that repeat neither", () => {
  const global = { ...DEFAULT_POLICY.global, build: { ...DEFAULT_POLICY.global.build, retention: { keepLast: 3, keepOnDelete: ["lock" as const], pinned: ["3f2a9c1e07"] } } };
  const policy: Policy = { ...DEFAULT_POLICY, global, namespaces: { ds: { owners: [], overrides: { build: { retention: { keepOnDelete: ["log"], pinned: [] } } } } } };
  assert.deepEqual(policyFor(policy, "ds").build.retention, { keepLast: 3, keepOnDelete: ["log"], pinned: ["3f2a9c1e07"] });
});

// Schema rules of the policy: a good and a bad case each.
const cases: [string, string, string, RegExp, number][] = [
  ["unknown top-level keys", "admins: [a]\n", "admin: [a]\n", /unknown key "admin"/, 1],
  ["version is 1", "version: 1\n", "version: 2\n", /"version" must be 1/, 1],
  ["alias is a URL without a trailing slash", "channels: {alias: 'https://m.example/c'}\n", "channels: {alias: 'https://m.example/c/'}\n", /without a trailing slash/, 1],
  ["allowed channels are names or URLs", "channels: {allowed: [conda-forge]}\n", "channels: {allowed: ['conda forge']}\n", /not a channel name/, 1],
  ["platforms are conda platforms", "platforms: [linux-64]\n", "platforms: [linux]\n", /must be one of/, 1],
  ["package lists are lists", "packages: {required: [python]}\n", "packages: {required: python}\n", /"packages\.required" must be a list/, 1],
  ["included packages are match specs", "packages:\n  included: [ipykernel]\n", "packages:\n  included: ['ipykernel>>=6']\n", /"ipykernel>>=6" is not a valid match spec \(version operator ">>="\)/, 2],
  ["pins are version specs", "packages:\n  pinned: {python: '3.11.*'}\n", "packages:\n  pinned: {python: '>>3'}\n", /pin "python: >>3" is not a valid conda version spec/, 2],
  ["pins are strings", "packages: {pinned: {python: '3.11'}}\n", "packages: {pinned: {python: 3.11}}\n", /must be a string \(quote it: "3.11"\)/, 1],
  ["blocked entries are match specs", "packages:\n  blocked: ['openssl<3']\n", "packages:\n  blocked: ['openssl<<3']\n", /not a valid match spec/, 2],
  ["blocked mappings need a name", "packages: {blocked: [{name: x, reason: y}]}\n", "packages: {blocked: [{reason: y}]}\n", /missing the required key "name"/, 1],
  ["pip lists are PEP 508 requirements", "pip:\n  required: [requests]\n", "pip:\n  required: ['requests>>2']\n", /not a valid pip requirement/, 2],
  ["pip policy lists take no options", "pip: {included: [requests]}\n", "pip: {included: ['--index-url https://x.example/simple']}\n", /is a pip option/, 1],
  ["owners are GitHub users or teams", "namespaces: {ds: {owners: ['@acme/ds', bob]}}\n", "namespaces: {ds: {owners: ['bob smith']}}\n", /GitHub user/, 1],
  ["namespace names are identifiers", "namespaces: {ds: {}}\n", "namespaces: {'../x': {}}\n", /invalid key "\.\.\/x"/, 1],
  ["approval events are known", "approval: {rules: [{when: any-change, require: owners}]}\n", "approval: {rules: [{when: always, require: owners}]}\n", /must be one of: "any-change"/, 1],
  ["approval count is bounded", "approval: {rules: [{when: any-change, require: owners, count: 2}]}\n", "approval: {rules: [{when: any-change, require: owners, count: 0}]}\n", /must be at least 1/, 1],
  ["artifact kinds are known", "build: {artifacts: [oci]}\n", "build: {artifacts: [docker]}\n", /must be one of: "lock"/, 1],
  ["retention keeps at least one build", "build: {retention: {keep_last: 1}}\n", "build: {retention: {keep_last: 0}}\n", /must be at least 1/, 1],
];
for (const [what, good, bad, message, line] of cases) {
  test(`policy schema: ${what}`, () => {
    ok(good);
    const r = read(bad);
    assert.equal(r.policy, undefined, "an invalid policy yields no policy");
    const f = only(r.findings);
    assert.match(f.message, message);
    assert.equal(f.line, line, formatFinding(f));
  });
}
