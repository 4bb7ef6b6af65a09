import { test } from "node:test";
import assert from "node:assert/strict";
import { formatMatchSpec, parseMatchSpec } from "../../src/spec/match-spec.ts";
import type { MatchSpec } from "../../src/spec/match-spec.ts";

const MD5 = "0123456789abcdef0123456789ABCDEF";
const SHA256 = "ab".repeat(32);

// [text, expected fields (extra defaults to {})]
const accepted: [string, Omit<MatchSpec, "extra"> & { extra?: Record<string, string> }][] = [
  ["numpy", { name: "numpy" }],
  ["  numpy  ", { name: "numpy" }],
  ["NumPy", { name: "numpy" }],
  ["numpy>=1.2", { name: "numpy", version: ">=1.2" }],
  ["numpy >=1.2,<2", { name: "numpy", version: ">=1.2,<2" }],
  ["numpy >=1.2, <2", { name: "numpy", version: ">=1.2,<2" }],
  ["numpy >= 1.2", { name: "numpy", version: ">=1.2" }],
  ["numpy 1.2.*", { name: "numpy", version: "1.2.*" }],
  ["numpy=1.2", { name: "numpy", version: "1.2.*" }],
  ["numpy=1.2=py311_0", { name: "numpy", version: "==1.2", build: "py311_0" }],
  ["numpy==1.2", { name: "numpy", version: "==1.2" }],
  ["numpy==1.2=py311_0", { name: "numpy", version: "==1.2", build: "py311_0" }],
  ["numpy 1.2 py311_0", { name: "numpy", version: "==1.2", build: "py311_0" }],
  ["numpy 1.2=py311_0", { name: "numpy", version: "==1.2", build: "py311_0" }],
  ["numpy 1.2|1.4", { name: "numpy", version: "==1.2|==1.4" }],
  ["numpy 1.2 | 1.4", { name: "numpy", version: "==1.2|==1.4" }],
  ["numpy (1.2|1.4),>1", { name: "numpy", version: "(==1.2|==1.4),>1" }],
  ["numpy=1.2,<2", { name: "numpy", version: "1.2.*,<2" }],
  ["numpy[version='>=1.2',build='py*']", { name: "numpy", version: ">=1.2", build: "py*" }],
  ['numpy[version=">=1.2"]', { name: "numpy", version: ">=1.2" }],
  ["numpy[version='>= 1.2 , <2']", { name: "numpy", version: ">=1.2,<2" }],
  ["numpy >=1 [build=py*]", { name: "numpy", version: ">=1", build: "py*" }],
  ["conda-forge::numpy", { name: "numpy", channel: "conda-forge" }],
  ["conda-forge/linux-64::numpy>=1", { name: "numpy", channel: "conda-forge", subdir: "linux-64", version: ">=1" }],
  ["conda-forge/label/dev::numpy", { name: "numpy", channel: "conda-forge/label/dev" }],
  ["https://host/ch::numpy", { name: "numpy", channel: "https://host/ch" }],
  ["https://host/ch/osx-arm64::numpy", { name: "numpy", channel: "https://host/ch", subdir: "osx-arm64" }],
  ["numpy[channel=conda-forge/win-64]", { name: "numpy", channel: "conda-forge", subdir: "win-64" }],
  ["numpy[subdir=noarch]", { name: "numpy", subdir: "noarch" }],
  ["python 3.11.* *_cpython", { name: "python", version: "3.11.*", build: "*_cpython" }],
  ["__cuda>=12", { name: "__cuda", version: ">=12" }],
  ["pytorch=*=cuda*", { name: "pytorch", build: "cuda*" }],
  ["numpy *", { name: "numpy" }],
  ["numpy * *", { name: "numpy" }],
  ["numpy ~=1.2", { name: "numpy", version: "~=1.2" }],
  ["numpy~=1.2", { name: "numpy", version: "~=1.2" }],
  ["numpy !=1.2.*", { name: "numpy", version: "!=1.2.*" }],
  ["numpy=1!2.0", { name: "numpy", version: "1!2.0.*" }],
  ["4ti2 1.6.*", { name: "4ti2", version: "1.6.*" }],
  [
    `numpy[md5=${MD5}, sha256='${SHA256}', build_number=3, license="MIT AND BSD-3-Clause"]`,
    { name: "numpy", extra: { md5: MD5, sha256: SHA256, build_number: "3", license: "MIT AND BSD-3-Clause" } },
  ],
];

test("every supported conda form parses to its fields", () => {
  for (const [text, fields] of accepted) {
    const result = parseMatchSpec(text);
    assert.deepEqual(result, { ok: true, spec: { extra: {}, ...fields } }, text);
  }
});

const rejected: [string, string][] = [
  ["", "empty match spec"],
  ["   ", "empty match spec"],
  ["numpy # pinned", '"#" is not allowed (no comments in a match spec)'],
  ["numpy>>=1", 'version operator ">>="'],
  ["numpy=>1", 'version operator "=>"'],
  ["numpy ~1.2", 'version operator "~"'],
  ["numpy >=", 'malformed version ">="'],
  ["numpy 1..2", 'malformed version "1..2"'],
  ["numpy 1.2,", 'malformed version "1.2,"'],
  ["numpy 1.2$", 'malformed version "1.2$"'],
  ["numpy[version=latest]", 'malformed version "latest"'],
  ["my package", 'unexpected "package" after name "my"'],
  ["numpy py311_0", 'unexpected "py311_0" after name "numpy"'],
  ["num*", 'name "num*" has a wildcard (installing needs a concrete name)'],
  ["conda-forge/numpy", 'name "conda-forge/numpy" contains "/" (write channel::name)'],
  ["ns:numpy", 'name "ns:numpy" contains ":" (write channel::name)'],
  ["-numpy", 'invalid package name "-numpy"'],
  ["num+py", 'invalid package name "num+py"'],
  [">=1.2", "missing package name"],
  ["::numpy", 'empty channel before "::"'],
  ["conda forge::numpy", 'invalid channel "conda forge"'],
  ["numpy[foo=bar]", 'unknown key "foo" (allowed: build, build_number, channel, license, md5, sha256, subdir, version)'],
  ["numpy[version='1.2]", "unbalanced quote in [...]"],
  ["numpy[version=1.2", 'unbalanced "["'],
  ["numpy]", 'unbalanced "]"'],
  ["numpy[]", "empty [...]"],
  ["numpy[version]", 'missing "=" after "version" in [...]'],
  ["numpy[version=]", 'empty value for "version"'],
  ["numpy[version=1.2] py", 'unexpected text after "]"'],
  ["numpy 'x'", "quotes are only allowed inside [...]"],
  ["numpy 1.2 py311_0 extra", "too many space-separated parts (expected: name version build)"],
  ["numpy >=1.2 <2", 'unexpected "<2" (join version constraints with ",")'],
  ["numpy=1.2=py311_0 py312_0", 'two build strings ("py311_0" and "py312_0")'],
  ["numpy 1.2 py-311", 'build "py-311" has invalid characters (allowed: letters, digits, _ . * + !)'],
  ["numpy[build='py 311']", 'build "py 311" has invalid characters (allowed: letters, digits, _ . * + !)'],
  ["numpy[md5=abc]", 'md5 "abc" is not 32 hex digits'],
  [`numpy[sha256=${"g".repeat(64)}]`, `sha256 "${"g".repeat(64)}" is not 64 hex digits`],
  ["numpy[build_number=x]", 'build_number "x" is not an integer'],
  ["numpy[build_number='>=2']", 'build_number ">=2" is not an integer'],
  ["numpy[subdir=linux-65]", 'unknown subdir "linux-65"'],
  ["numpy>=1[version='<2']", 'version given twice (">=1" and "<2")'],
  ["numpy 1.2 py*[build=py311*]", 'build given twice ("py*" and "py311*")'],
  ["conda-forge::numpy[channel=bioconda]", 'channel given twice ("conda-forge" and "bioconda")'],
  ["conda-forge/linux-64::numpy[subdir=osx-64]", 'subdir given twice ("linux-64" and "osx-64")'],
  ["numpy[version=1,version=2]", 'version given twice ("1" and "2")'],
];

test("bad specs are rejected with a short, one-line reason", () => {
  for (const [text, reason] of rejected) {
    const result = parseMatchSpec(text);
    assert.deepEqual(result, { ok: false, reason }, text);
    assert.ok(!reason.includes("\n"), text);
  }
});

test("rattler's parser dump never reaches the reason", () => {
  for (const text of ["numpy >>=1", "numpy @1", "numpy 1.*.2", "numpy 1.2||1.3", "numpy (1.2", "numpy 1.2)"]) {
    const result = parseMatchSpec(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.reason, /^(version operator|malformed version) "[^"\n]*"$/, text);
  }
});

test("format gives the canonical text, and parsing it gives the same spec back", () => {
  const canonical: [string, string][] = [
    ["numpy", "numpy"],
    ["NumPy >= 1.2 , <2", "numpy >=1.2,<2"],
    ["numpy=1.2=py311_0", "numpy ==1.2 py311_0"],
    ["pytorch=*=cuda*", "pytorch * cuda*"],
    ["conda-forge/linux-64::numpy>=1", "conda-forge/linux-64::numpy >=1"],
    ["numpy[channel=conda-forge, version='1.2|1.4']", "conda-forge::numpy ==1.2|==1.4"],
    ["numpy[subdir=linux-64]", "numpy[subdir=linux-64]"],
    [`numpy[md5=${MD5},license='MIT AND BSD',build_number=3,build=py*]`, `numpy * py*[build_number=3,license='MIT AND BSD',md5=${MD5}]`],
    ["numpy[license=\"O'Brien\"]", "numpy[license=\"O'Brien\"]"],
  ];
  for (const [text, expected] of canonical) {
    const parsed = parseMatchSpec(text);
    assert.ok(parsed.ok, text);
    assert.equal(formatMatchSpec(parsed.spec), expected, text);
  }
  for (const [text] of accepted) {
    const parsed = parseMatchSpec(text);
    assert.ok(parsed.ok, text);
    assert.deepEqual(parseMatchSpec(formatMatchSpec(parsed.spec)), parsed, text);
  }
});
