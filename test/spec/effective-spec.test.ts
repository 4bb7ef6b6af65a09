import { test } from "node:test";
import assert from "node:assert/strict";
import { applyPolicy, intersectVersions } from "../../src/spec/effective-spec.ts";
import type { PolicyViolation } from "../../src/spec/effective-spec.ts";
import { readEnvironmentSpec } from "../../src/spec/environment.ts";
import { readPolicy } from "../../src/spec/policy.ts";
import { parseYaml } from "../../src/spec/yaml-source.ts";
import type { EffectiveSpec, Policy } from "../../src/spec/types.ts";

function policy(text: string): Policy {
  const r = readPolicy(parseYaml("policy.yaml", text));
  assert.deepEqual(r.findings, []);
  assert.ok(r.policy);
  return r.policy;
}

function apply(specText: string, policyText = "version: 1\n", namespace = "ds") {
  const r = readEnvironmentSpec(parseYaml(`${namespace}/env.yaml`, specText), { namespace, name: "env" });
  assert.deepEqual(r.findings, []);
  assert.ok(r.spec);
  return applyPolicy({ namespace, name: "env" }, r.spec, policy(policyText));
}
function effective(specText: string, policyText?: string, namespace?: string): EffectiveSpec {
  const r = apply(specText, policyText, namespace);
  assert.deepEqual(r.violations, []);
  assert.ok(r.effective);
  return r.effective;
}
function violation(specText: string, policyText: string, namespace?: string): PolicyViolation {
  const r = apply(specText, policyText, namespace);
  assert.equal(r.effective, undefined);
  assert.equal(r.violations.length, 1, JSON.stringify(r.violations));
  return r.violations[0] as PolicyViolation;
}

/* ------------------------------------------------------------ channels (conda-store semantics) */

test("channels: default channels are used only when the spec lists none", () => {
  const p = "channels: {default: [conda-forge, bioconda]}\n";
  assert.deepEqual(effective("dependencies: [python]\n", p).channels, ["https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/bioconda"]);
  assert.deepEqual(effective("channels: [pytorch]\ndependencies: [python]\n", p).channels, ["https://conda.anaconda.org/pytorch"], "a spec's own channels replace the defaults");
});

test("channels: allowed is compared after alias normalisation", () => {
  const p = "channels: {allowed: [conda-forge, 'https://conda.anaconda.org/bioconda/']}\n";
  const e = effective("channels: ['https://conda.anaconda.org/conda-forge', bioconda]\ndependencies: [python]\n", p);
  assert.deepEqual(e.channels, ["https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/bioconda"]);
  const v = violation("channels: [conda-forge, 'https://evil.example/conda-forge']\ndependencies: [python]\n", p);
  assert.equal(v.rule, "policy.channel-not-allowed");
  assert.deepEqual(v.path, ["channels", 1]);
  assert.match(v.message, /channel "https:\/\/evil.example\/conda-forge" is not allowed in namespace ds \(allowed: conda-forge, https:\/\/conda.anaconda.org\/bioconda\/\)/);
});

test("channels: the policy's alias expands bare names (a mirror)", () => {
  const p = "channels: {alias: 'https://mirror.example.org/conda', allowed: [conda-forge]}\n";
  assert.deepEqual(effective("channels: [conda-forge]\ndependencies: [python]\n", p).channels, ["https://mirror.example.org/conda/conda-forge"]);
  assert.equal(violation("channels: ['https://conda.anaconda.org/conda-forge']\ndependencies: [python]\n", p).rule, "policy.channel-not-allowed", "the same name under another alias is another channel");
});

test("channels: an empty allowed list allows any channel", () => {
  assert.deepEqual(effective("channels: ['http://127.0.0.1:8000/private']\ndependencies: [python]\n").channels, ["http://127.0.0.1:8000/private"]);
});

test("channels: order is kept (it is the solve's priority)", () => {
  assert.deepEqual(effective("channels: [b, a, c]\ndependencies: [python]\n").channels.map((c) => c.split("/").pop()), ["b", "a", "c"]);
});

test("channels: a channel named in a match spec must be allowed, and is searched", () => {
  const p = "channels: {allowed: [conda-forge, pytorch]}\n";
  assert.deepEqual(effective("channels: [conda-forge]\ndependencies: ['pytorch::pytorch']\n", p).channels, ["https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/pytorch"]);
  const v = violation("channels: [conda-forge]\ndependencies: [python, 'evil::numpy']\n", p);
  assert.equal(v.rule, "policy.channel-not-allowed");
  assert.deepEqual(v.path, ["dependencies", 1]);
});

test("channels: `defaults` is refused with what to write instead", () => {
  assert.match(violation("channels: [defaults]\ndependencies: [python]\n", "version: 1\n").message, /name the channels/);
});

/* ------------------------------------------------------------ conda packages (conda-store semantics) */

test("packages.default: added only when the spec has no conda dependency at all", () => {
  const p = "packages: {default: [python, ipykernel]}\n";
  assert.deepEqual(effective("dependencies: []\n", p).dependencies, ["python", "ipykernel"]);
  assert.deepEqual(effective("dependencies: [numpy]\n", p).dependencies, ["numpy"], "any conda dependency disables the defaults");
  assert.deepEqual(effective("dependencies: [{pip: [requests]}]\n", p).dependencies, ["python", "ipykernel", "pip"], "a pip-only spec has no conda dependencies");
});

test("packages.included: appended when absent; the user's own entry for that name wins", () => {
  const p = "packages: {included: ['ipykernel>=6', 'python>=3.9']}\n";
  assert.deepEqual(effective("dependencies: [numpy]\n", p).dependencies, ["numpy", "ipykernel >=6", "python >=3.9"]);
  assert.deepEqual(effective("dependencies: ['python=3.8', ipykernel]\n", p).dependencies, ["python 3.8.*", "ipykernel"], "never overrides a user entry, even an older one");
});

test("packages.required: missing names are listed; included packages count as present", () => {
  const p = "packages: {required: [python, ipykernel, pandas]}\n";
  const v = violation("dependencies: [numpy, pandas]\n", p);
  assert.equal(v.rule, "policy.required-missing");
  assert.deepEqual(v.path, ["dependencies"]);
  assert.equal(v.message, 'namespace ds requires "python", "ipykernel", missing from dependencies; add them');
  const withIncluded = effective("dependencies: [numpy, pandas]\n", "packages: {required: [python, ipykernel, pandas], included: [python, ipykernel]}\n");
  assert.deepEqual(withIncluded.dependencies, ["numpy", "pandas", "python", "ipykernel"]);
});

test("packages.required: satisfied by any version of the name", () => {
  assert.deepEqual(effective("dependencies: ['python 3.12.*']\n", "packages: {required: [python]}\n").dependencies, ["python 3.12.*"]);
});

/* ------------------------------------------------------------ pins */

test("pins: merged into a compatible entry", () => {
  const p = "packages: {pinned: {python: '3.11', numpy: '<2'}}\n";
  const e = effective("dependencies: ['python>=3.10', numpy]\n", p);
  assert.deepEqual(e.dependencies, ["python >=3.10,3.11.*", "numpy <2"]);
});

test("pins: an incompatible entry is refused at its line", () => {
  const v = violation("dependencies: [numpy, 'python>=3.12']\n", "packages: {pinned: {python: '3.11'}}\n");
  assert.equal(v.rule, "policy.pin-conflict");
  assert.deepEqual(v.path, ["dependencies", 1]);
  assert.match(v.message, /"python >=3.12" conflicts with the policy pin python 3.11.\* in namespace ds/);
});

test("pins: a pinned name the spec does not list becomes a solve constraint, not a request", () => {
  const e = effective("dependencies: [pandas]\n", "packages: {pinned: {numpy: '1.26.*'}}\n");
  assert.deepEqual(e.dependencies, ["pandas"]);
  assert.deepEqual(e.constraints, ["numpy 1.26.*"]);
});

test("pins: alternatives stay grouped when merged", () => {
  assert.equal(intersectVersions("1.2.*|1.4.*", ">=1.3"), "(1.2.*|1.4.*),>=1.3");
  assert.equal(intersectVersions(undefined, ">=1.3"), ">=1.3");
  assert.equal(intersectVersions("*", ">=1.3"), ">=1.3");
});

test("pins: a namespace can pin differently", () => {
  const p = "packages: {pinned: {python: '3.11'}}\nnamespaces: {legacy: {packages: {pinned: {python: '3.8'}}}}\n";
  assert.deepEqual(effective("dependencies: [python]\n", p, "legacy").dependencies, ["python 3.8.*"]);
  assert.deepEqual(effective("dependencies: [python]\n", p, "ds").dependencies, ["python 3.11.*"]);
});

/* ------------------------------------------------------------ blocked */

test("blocked: a bare name blocks every version, with the reason in the error", () => {
  const v = violation("dependencies: [python, 'pycrypto>=2']\n", "packages: {blocked: [{name: pycrypto, reason: 'unmaintained; use pycryptodome'}]}\n");
  assert.equal(v.rule, "policy.blocked");
  assert.deepEqual(v.path, ["dependencies", 1]);
  assert.equal(v.message, '"pycrypto" is blocked by policy in namespace ds: unmaintained; use pycryptodome');
});

test("blocked: a versioned block refuses entries that only allow blocked versions", () => {
  const p = "packages: {blocked: [{name: 'openssl<3', reason: EOL}]}\n";
  assert.match(violation("dependencies: ['openssl 1.1.*']\n", p).message, /"openssl 1.1.\*" only allows blocked versions \(openssl<3\) by policy in namespace ds: EOL/);
});

test("blocked: an entry that allows other versions passes, and the block goes to the solver", () => {
  const p = "packages: {blocked: ['openssl<3']}\n";
  const e = effective("dependencies: ['openssl>=1.1', python]\n", p);
  assert.deepEqual(e.blocked, ["openssl <3"]);
  assert.deepEqual(effective("dependencies: [openssl]\n", p).blocked, ["openssl <3"]);
});

test("blocked: policy-included packages are checked too", () => {
  const v = violation("dependencies: [numpy]\n", "packages: {included: [pycrypto], blocked: [pycrypto]}\n");
  assert.deepEqual(v.path, ["dependencies"]);
});

test("blocked: a namespace override replaces the global list whole", () => {
  const p = "packages: {blocked: [pycrypto]}\nnamespaces: {security: {packages: {blocked: []}}}\n";
  effective("dependencies: [pycrypto]\n", p, "security");
  violation("dependencies: [pycrypto]\n", p, "other");
});

/* ------------------------------------------------------------ pip (conda-store's pypi_* semantics) */

test("pip.default: only when the spec has no pip requirements", () => {
  const p = "pip: {default: ['requests>=2']}\n";
  assert.deepEqual(effective("dependencies: [python]\n", p).pip.requirements, ["requests>=2"]);
  assert.deepEqual(effective("dependencies: [python, {pip: [httpx]}]\n", p).pip.requirements, ["httpx"]);
});

test("pip.included: appended when absent by normalised name; the user's entry wins", () => {
  const p = "pip: {included: ['Typing_Extensions>=4', 'rich']}\n";
  assert.deepEqual(effective("dependencies: [python, {pip: ['typing-extensions==4.0.0']}]\n", p).pip.requirements, ["typing-extensions==4.0.0", "rich"]);
});

test("pip.required: missing project names are listed", () => {
  const v = violation("dependencies: [python, {pip: [httpx]}]\n", "pip: {required: [requests, rich]}\n");
  assert.equal(v.rule, "policy.pip-required-missing");
  assert.match(v.message, /requires the pip packages "requests", "rich"/);
});

test("pip.blocked: a blocked project is refused at its line", () => {
  const v = violation("dependencies: [python, {pip: [httpx, tensorflow-cpu]}]\n", "pip: {blocked: [{name: tensorflow-cpu, reason: use conda-forge}]}\n");
  assert.equal(v.rule, "policy.pip-blocked");
  assert.deepEqual(v.path, ["dependencies", 1, "pip", 1]);
  assert.match(v.message, /use conda-forge/);
  effective("dependencies: [python, {pip: ['urllib3==2.0.0']}]\n", "pip: {blocked: ['urllib3<2']}\n");
  violation("dependencies: [python, {pip: ['urllib3==1.26.0']}]\n", "pip: {blocked: ['urllib3<2']}\n");
});

test("pip: options are kept in order, and pip itself is added when the spec forgot it", () => {
  const e = effective("dependencies: [python, {pip: ['--index-url https://pypi.example.org/simple', requests]}]\n");
  assert.deepEqual(e.pip, { requirements: ["requests"], options: ["--index-url https://pypi.example.org/simple"] });
  assert.deepEqual(e.dependencies, ["python", "pip"]);
});

/* ------------------------------------------------------------ the rest */

test("platforms come from the spec, else the policy (namespace level first), sorted", () => {
  const p = "platforms: [linux-64]\nnamespaces: {mac: {platforms: [osx-arm64, osx-64]}}\n";
  assert.deepEqual(effective("dependencies: [python]\n", p).platforms, ["linux-64"]);
  assert.deepEqual(effective("dependencies: [python]\n", p, "mac").platforms, ["osx-64", "osx-arm64"]);
  assert.deepEqual(effective("platforms: [win-64, linux-64]\ndependencies: [python]\n", p, "mac").platforms, ["linux-64", "win-64"]);
});

test("every violation of a spec is reported at once", () => {
  const r = apply("channels: [evil]\ndependencies: [pycrypto]\n", "channels: {allowed: [conda-forge]}\npackages: {required: [python], blocked: [pycrypto]}\n");
  assert.deepEqual(r.violations.map((v) => v.rule).sort(), ["policy.blocked", "policy.channel-not-allowed", "policy.required-missing"]);
});
