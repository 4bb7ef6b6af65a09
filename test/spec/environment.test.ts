import { test } from "node:test";
import assert from "node:assert/strict";
import { readEnvironmentSpec } from "../../src/spec/environment.ts";
import { parseYaml } from "../../src/spec/yaml-source.ts";
import type { Finding } from "../../src/spec/finding.ts";
import { formatFinding } from "../../src/spec/finding.ts";
import { InputError } from "../../src/errors.ts";

const ref = { namespace: "data-science", name: "ml" };
const FILE = "data-science/ml.yaml";

function read(text: string) {
  return readEnvironmentSpec(parseYaml(FILE, text), ref);
}

function only(findings: Finding[]): Finding {
  assert.equal(findings.length, 1, `expected one finding, got:\n${findings.map(formatFinding).join("\n")}`);
  return findings[0] as Finding;
}

test("a full spec parses into typed values", () => {
  const r = read(`name: ml
description: models
channels: [conda-forge, https://example.org/private/]
dependencies:
  - python=3.11
  - numpy >=1.26,<2
  - conda-forge::scipy
  - pip:
      - requests>=2
      - --extra-index-url https://pypi.example.org/simple
variables:
  CONDA_OVERRIDE_CUDA: "12"
platforms: [linux-64, osx-arm64]
`);
  assert.deepEqual(r.findings, []);
  const s = r.spec;
  assert.ok(s);
  assert.deepEqual(s.channels, ["conda-forge", "https://example.org/private/"]);
  assert.deepEqual(s.dependencies.map((d) => d.spec.name), ["python", "numpy", "scipy"]);
  assert.equal(s.dependencies[0]?.spec.version, "3.11.*");
  assert.equal(s.dependencies[2]?.spec.channel, "conda-forge");
  assert.deepEqual(s.pip?.map((p) => p.entry.kind), ["requirement", "option"]);
  assert.deepEqual(s.variables, { CONDA_OVERRIDE_CUDA: "12" });
  assert.deepEqual(s.platforms, ["linux-64", "osx-arm64"]);
});

test("the issue's example error: file, line, column, the spec and what is wrong", () => {
  const r = read("name: ml\nchannels:\n  - conda-forge\ndependencies:\n  - python\n  - pandas\n  - numpy>>=1\n");
  const f = only(r.findings);
  assert.equal(formatFinding(f), 'data-science/ml.yaml:7:5: "numpy>>=1" is not a valid match spec (version operator ">>=")');
  assert.equal(f.rule, "spec.match-spec");
});

// Every schema rule: one good and one bad case. [description, good YAML, bad YAML, expected message part, line, column]
const schemaCases: [string, string, string, RegExp, number, number][] = [
  ["dependencies is required", "dependencies: [python]\n", "channels: [conda-forge]\n", /missing the required key "dependencies"/, 1, 1],
  ["unknown keys are refused (typos do not pass silently)", "dependencies: [python]\n", "dependencies: [python]\nchanels: [conda-forge]\n", /unknown key "chanels" in the file \(allowed: name, description, channels, dependencies, variables, platforms\)/, 2, 1],
  ["name is a valid identifier", "name: ml\ndependencies: [python]\n", "name: ../ml\ndependencies: [python]\n", /"name" is "\.\.\/ml", which is not a valid environment name/, 1, 7],
  ["name must not contain spaces", "name: ml\ndependencies: [python]\n", "name: my env\ndependencies: [python]\n", /not a valid environment name/, 1, 7],
  ["name must not start with a dot", "name: ml\ndependencies: [python]\n", "name: .ml\ndependencies: [python]\n", /not a valid environment name/, 1, 7],
  ["description is a string", "description: x\ndependencies: [python]\n", "description: [x]\ndependencies: [python]\n", /"description" must be a string/, 1, 14],
  ["description has a length limit", "description: x\ndependencies: [python]\n", `description: ${"x".repeat(2001)}\ndependencies: [python]\n`, /longer than 2000 characters/, 1, 14],
  ["channels is a list", "channels: [conda-forge]\ndependencies: [python]\n", "channels: conda-forge\ndependencies: [python]\n", /"channels" must be a list/, 1, 11],
  ["channel names are names or URLs", "channels: [bioconda/label/dev]\ndependencies: [python]\n", "channels: [conda forge]\ndependencies: [python]\n", /"channels\[0\]" is "conda forge", which is not a channel name/, 1, 12],
  ["channels are not repeated", "channels: [a, b]\ndependencies: [python]\n", "channels: [a, a]\ndependencies: [python]\n", /lists the same entry twice/, 1, 15],
  ["dependencies is a list", "dependencies: [python]\n", "dependencies: python\n", /"dependencies" must be a list/, 1, 15],
  ["dependency entries are strings or a pip mapping", "dependencies: [python, {pip: [x]}]\n", "dependencies: [python, 3]\n", /"dependencies\[1\]" must be a string or a mapping/, 1, 24],
  ["dependency mappings hold only pip", "dependencies: [{pip: [x]}]\n", "dependencies: [{conda: [x]}]\n", /unknown key "conda"/, 1, 17],
  ["at most one pip list", "dependencies: [{pip: [x]}]\n", "dependencies: [{pip: [x]}, {pip: [y]}]\n", /more than 1 pip: list/, 1, 15],
  ["pip is a list of strings", "dependencies: [{pip: [x]}]\n", "dependencies: [{pip: x}]\n", /"dependencies\[0\]\.pip" must be a list/, 1, 22],
  ["variables map names to strings", "variables: {A: '1'}\ndependencies: [python]\n", "variables: {A: 1}\ndependencies: [python]\n", /"variables\.A" must be a string \(quote it: "1"\)/, 1, 16],
  ["variable names are identifiers", "variables: {A_B: x}\ndependencies: [python]\n", "variables: {A-B: x}\ndependencies: [python]\n", /invalid key "A-B"/, 1, 13],
  ["platforms are conda platforms", "platforms: [linux-64]\ndependencies: [python]\n", "platforms: [linux-65]\ndependencies: [python]\n", /"platforms\[0\]" must be one of: "linux-32"/, 1, 13],
  ["platforms is not empty", "platforms: [win-64]\ndependencies: [python]\n", "platforms: []\ndependencies: [python]\n", /"platforms" must have at least 1 entry/, 1, 12],
  ["the number of dependencies is limited", "dependencies: [python]\n", `dependencies:\n${"  - a\n".repeat(1001)}`, /"dependencies" has more than 1000 entries/, 2, 3],
];
for (const [what, good, bad, message, line, column] of schemaCases) {
  test(`schema: ${what}`, () => {
    assert.deepEqual(read(good).findings, [], "the good case passes");
    const f = only(read(bad).findings);
    assert.match(f.message, message);
    assert.deepEqual([f.line, f.column], [line, column], formatFinding(f));
    assert.equal(f.severity, "error");
  });
}

test("name must match the file name", () => {
  const f = only(read("name: other\ndependencies: [python]\n").findings);
  assert.equal(formatFinding(f), 'data-science/ml.yaml:1:7: name "other" does not match the file name "ml"; rename the file or change the name (or remove the name: line)');
});

test("pip entries are PEP 508 requirements, reported at their line", () => {
  const f = only(read("dependencies:\n  - pip\n  - pip:\n      - requests\n      - numpy>>=1\n").findings);
  assert.equal(f.line, 5);
  assert.equal(f.column, 9);
  assert.match(f.message, /^"numpy>>=1" is not a valid pip requirement \(/);
});

test("a package listed twice is an error pointing at the second entry", () => {
  const f = only(read("dependencies:\n  - numpy>=1\n  - NumPy<2\n").findings);
  assert.equal(f.line, 3);
  assert.match(f.message, /"numpy" is listed twice \(also at line 2\)/);
});

test("every problem of a file is reported at once", () => {
  const r = read("dependencies:\n  - numpy>>=1\n  - pandas==\n  - pip:\n      - '-e .'\n");
  assert.equal(r.findings.length, 3);
  assert.deepEqual(r.findings.map((f) => f.line), [2, 3, 5]);
});

// Hostile or broken YAML: a clear error at a place, never an exception or a half-read value.
const hostile: [string, string | Buffer, string, RegExp][] = [
  ["duplicate keys", "dependencies: [a]\ndependencies: [b]\n", "yaml.syntax", /duplicate key/],
  ["billion laughs", `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\ndependencies: *g\n`, "yaml.aliases", /too many alias expansions/],
  ["tabs for indentation", "dependencies:\n\t- python\n", "yaml.syntax", /tab/i],
  ["non-UTF-8 bytes", Buffer.concat([Buffer.from("dependencies:\n  - caf"), Buffer.from([0xe9]), Buffer.from("\n")]), "yaml.encoding", /not valid UTF-8/],
  ["custom tags", "dependencies: !!python/object:os.system [x]\n", "yaml.syntax", /tag/i],
  ["several documents", "dependencies: [a]\n---\ndependencies: [b]\n", "yaml.syntax", /more than one YAML document|invalid YAML/],
  ["an empty file", "", "yaml.empty", /empty/],
  ["a file over the size limit", `dependencies:\n${"  - python\n".repeat(120_000)}`, "yaml.too-large", /more than the limit/],
];
for (const [what, input, code, message] of hostile) {
  test(`hostile YAML: ${what}`, () => {
    assert.throws(
      () => parseYaml(FILE, input),
      (e: unknown) => e instanceof InputError && e.code === code && message.test(e.message) && e.position?.file === FILE && e.exitCode === 1,
    );
  });
}

test("hostile YAML: the error names the line of the problem", () => {
  try {
    parseYaml(FILE, "name: ml\ndependencies: [a]\ndependencies: [b]\n");
    assert.fail("duplicate keys were accepted");
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.equal(e.position?.line, 3);
  }
  try {
    parseYaml(FILE, Buffer.concat([Buffer.from("name: ml\ndependencies:\n  - caf"), Buffer.from([0xff])]));
    assert.fail("bad bytes were accepted");
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.deepEqual([e.position?.line, e.position?.column], [3, 8]);
  }
});

test("a spec that is a list or a string is refused with words, not a crash", () => {
  assert.match(only(read("- python\n- numpy\n").findings).message, /the file must be a mapping/);
  assert.match(only(read("just some text\n").findings).message, /the file must be a mapping/);
  assert.match(only(read("42\n").findings).message, /the file must be a mapping/);
});
