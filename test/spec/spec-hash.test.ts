import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { canonicalSpecJson, specHash } from "../../src/spec/spec-hash.ts";
import type { EffectiveSpec } from "../../src/spec/types.ts";

const base: EffectiveSpec = {
  namespace: "ds",
  name: "ml",
  description: "x",
  channels: ["https://conda.anaconda.org/conda-forge", "https://conda.anaconda.org/bioconda"],
  channelAlias: "https://conda.anaconda.org",
  dependencies: ["python 3.11.*", "numpy >=1.26,<2", "pip"],
  constraints: ["openssl >=3"],
  blocked: ["pycrypto"],
  pip: { requirements: ["requests>=2", "httpx"], options: ["--index-url https://pypi.example.org/simple"] },
  variables: { B: "2", A: "1" },
  platforms: ["osx-arm64", "linux-64"],
};

test("vector: the canonical JSON is RFC 8785 over the documented fields", () => {
  assert.equal(
    canonicalSpecJson(base),
    '{"blocked":["pycrypto"],"channels":["https://conda.anaconda.org/conda-forge","https://conda.anaconda.org/bioconda"],"constraints":["openssl >=3"],"dependencies":["numpy >=1.26,<2","pip","python 3.11.*"],"pip":{"options":["--index-url https://pypi.example.org/simple"],"requirements":["httpx","requests>=2"]},"platforms":["linux-64","osx-arm64"],"v":1,"variables":{"A":"1","B":"2"}}',
  );
});

test("vector: the spec hash is the sha256 of that JSON", () => {
  assert.equal(specHash(base), createHash("sha256").update(canonicalSpecJson(base)).digest("hex"));
  // Computed outside condaops: printf '%s' '<the JSON above>' | sha256sum
  assert.equal(specHash(base), "db935210b0dc5188cf9bd385eb69042d15c779c41d2c3594660e804f283ffe3f");
});

test("vector: a minimal spec", () => {
  const minimal: EffectiveSpec = { namespace: "a", name: "b", channels: ["https://conda.anaconda.org/conda-forge"], channelAlias: "https://conda.anaconda.org", dependencies: ["python"], constraints: [], blocked: [], pip: { requirements: [], options: [] }, variables: {}, platforms: ["linux-64"] };
  assert.equal(canonicalSpecJson(minimal), '{"blocked":[],"channels":["https://conda.anaconda.org/conda-forge"],"constraints":[],"dependencies":["python"],"pip":{"options":[],"requirements":[]},"platforms":["linux-64"],"v":1,"variables":{}}');
  assert.equal(specHash(minimal), "e80630cf51257f3c89573447e1e0777f83591b2165a04bee08d01ca1bc337f80");
});

test("dependency, platform, variable and pip requirement order do not change the hash", () => {
  const shuffled: EffectiveSpec = {
    ...base,
    dependencies: ["pip", "numpy >=1.26,<2", "python 3.11.*"],
    pip: { ...base.pip, requirements: ["httpx", "requests>=2"] },
    variables: { A: "1", B: "2" },
    platforms: ["linux-64", "osx-arm64"],
  };
  assert.equal(specHash(shuffled), specHash(base));
});

test("channel order changes the hash (it is the solve's priority)", () => {
  assert.notEqual(specHash({ ...base, channels: [...base.channels].reverse() }), specHash(base));
});

test("pip option order changes the hash (index URLs are tried in order)", () => {
  const two = { ...base, pip: { ...base.pip, options: ["--index-url https://a.example/simple", "--extra-index-url https://b.example/simple"] } };
  assert.notEqual(specHash({ ...two, pip: { ...two.pip, options: [...two.pip.options].reverse() } }), specHash(two));
});

test("identity and description do not change the hash; content does", () => {
  assert.equal(specHash({ ...base, namespace: "other", name: "copy", description: "new words" }), specHash(base));
  assert.notEqual(specHash({ ...base, dependencies: [...base.dependencies, "scipy"] }), specHash(base));
  assert.notEqual(specHash({ ...base, variables: { ...base.variables, A: "2" } }), specHash(base));
  assert.notEqual(specHash({ ...base, constraints: [] }), specHash(base));
  assert.notEqual(specHash({ ...base, blocked: [] }), specHash(base));
  assert.notEqual(specHash({ ...base, platforms: ["linux-64"] }), specHash(base));
});
