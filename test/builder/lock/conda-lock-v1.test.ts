import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { platformNames } from "@conda-org/rattler";
import condaLockSchema from "../../../schemas/conda-lock-v1.schema.json" with { type: "json" };
import { CONDA_LOCK_MAX_BYTES, parseCondaLock, serializeCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import type { Lock } from "../../../src/builder/lock/types.ts";
import { InputError } from "../../../src/errors.ts";
import { CONDA_FORGE, lockOf, pkg } from "./lock-builders.ts";

const FIXTURE = readFileSync(new URL("./__fixtures__/conda-lock.yml", import.meta.url), "utf8");
const FILE = "data-science/ml.lock.yml";

function find(lock: Lock, name: string, platform: string) {
  const p = lock.packages.find((x) => x.name === name && x.platform === platform);
  assert.ok(p, `${name} for ${platform} not in the lock`);
  return p;
}

/** The error parseCondaLock throws for `text`. */
function rejection(text: string): InputError {
  try {
    parseCondaLock(FILE, text);
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${String(e)}`);
    assert.equal(e.exitCode, 1);
    return e;
  }
  assert.fail("the lock was accepted");
}

/** A valid one-package lock text with `replace` applied, to test one rule at a time. */
function variant(replace: (text: string) => string): string {
  return replace(`version: 1
metadata:
  content_hash:
    linux-64: 4e3086c79ebb7044f221959819fbca22e3ad4144b2723482e48f2cffef1cb948
  channels:
  - url: conda-forge
    used_env_vars: []
  platforms:
  - linux-64
  sources:
  - environment.yml
package:
- name: bzip2
  version: 1.0.8
  manager: conda
  platform: linux-64
  dependencies:
    __glibc: '>=2.17,<3.0.a0'
    libgcc-ng: '>=12'
  url: https://conda.anaconda.org/conda-forge/linux-64/bzip2-1.0.8-h4bc722e_7.conda
  hash:
    md5: 62ee74e96c5ebb0af99386de58cf9553
    sha256: 5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d
  category: main
  optional: false
`);
}

test("the fixture (a conda-lock-written multi-platform lock) parses into the Lock model", () => {
  const lock = parseCondaLock(FILE, FIXTURE);
  assert.deepEqual(lock.platforms, ["linux-64", "osx-arm64", "win-64"]);
  assert.deepEqual(lock.channels, [CONDA_FORGE], "a channel name is expanded under the default alias");
  assert.deepEqual(lock.sources, ["environment.yml"]);
  assert.equal(lock.contentHash["win-64"], "8f6268b8622edf5d51e39b83622951fae8e8e345e468689258e21e7e082a8330");
  assert.equal(lock.packages.length, 72);

  const bzip2 = find(lock, "bzip2", "linux-64");
  assert.deepEqual(
    { build: bzip2.build, buildNumber: bzip2.buildNumber, subdir: bzip2.subdir, channel: bzip2.channel, filename: bzip2.filename, md5: bzip2.md5, sha256: bzip2.sha256 },
    {
      build: "h4bc722e_7",
      buildNumber: 7,
      subdir: "linux-64",
      channel: CONDA_FORGE,
      filename: "bzip2-1.0.8-h4bc722e_7.conda",
      md5: "62ee74e96c5ebb0af99386de58cf9553",
      sha256: "5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d",
    },
  );
  assert.deepEqual(bzip2.depends, ["__glibc >=2.17,<3.0.a0", "libgcc-ng >=12"]);

  const abi = find(lock, "python_abi", "osx-arm64");
  assert.equal(abi.build, "4_cp311");
  assert.equal(abi.buildNumber, 4);
  assert.equal(find(lock, "python", "linux-64").build, "hab00c5b_0_cpython");
  assert.equal(find(lock, "_openmp_mutex", "linux-64").buildNumber, 2);
  assert.equal(find(lock, "_openmp_mutex", "linux-64").filename, "_openmp_mutex-4.5-2_gnu.tar.bz2");

  const six = find(lock, "six", "win-64");
  assert.equal(six.subdir, "noarch", "a noarch package keeps its target platform and its noarch subdir");
  assert.equal(six.platform, "win-64");
  assert.deepEqual(six.depends, ["python"], "conda-lock's '' constraint is a bare name");
  assert.deepEqual(find(lock, "numpy", "linux-64").depends, ["libgcc-ng >=12", "python >=3.11,<3.12.0a0", "python_abi 3.11.*"]);

  const packaging = find(lock, "packaging", "linux-64");
  assert.deepEqual([packaging.category, packaging.optional], ["dev", true]);

  const certifi = find(lock, "certifi", "osx-arm64");
  assert.equal(certifi.manager, "pip");
  assert.equal(certifi.md5, "");
  assert.equal(certifi.filename, "certifi-2023.7.22-py3-none-any.whl");

  const keys = lock.packages.map((p) => `${p.platform} ${p.name} ${p.manager}`);
  assert.deepEqual(keys, [...keys].sort(), "the Lock lists packages by platform, then name");
});

test("round trip: parse(serialize(lock)) equals the lock, and serialising again gives the same bytes", () => {
  const lock = parseCondaLock(FILE, FIXTURE);
  const text = serializeCondaLock(lock);
  assert.deepEqual(parseCondaLock(FILE, text), lock);
  assert.equal(serializeCondaLock(parseCondaLock(FILE, text)), text);
});

test("the written file has conda-lock's exact shape: key order, indentation, quoting, package order", () => {
  const text = serializeCondaLock(parseCondaLock(FILE, FIXTURE));
  const body = text.slice(text.indexOf("version: 1"));
  assert.ok(
    body.startsWith(`version: 1
metadata:
  content_hash:
    linux-64: eed331dcdaf75d3543529f60267cd809dd2efee45150445e9f589795ba896f66
    osx-arm64: 12bcc687caaa64d06183563c4305dbd924c33e7b5957c944dcb370ac3b6fc2c8
    win-64: 8f6268b8622edf5d51e39b83622951fae8e8e345e468689258e21e7e082a8330
  channels:
  - url: https://conda.anaconda.org/conda-forge
    used_env_vars: []
  platforms:
  - linux-64
  - osx-arm64
  - win-64
  sources:
  - environment.yml
package:
- name: _libgcc_mutex
  version: '0.1'
  manager: conda
  platform: linux-64
  dependencies: {}
  url: https://conda.anaconda.org/conda-forge/linux-64/_libgcc_mutex-0.1-conda_forge.tar.bz2
  hash:
    md5: d7c89558ba9fa0495403155b64376d81
    sha256: fe51de6107f9edc7aa4f786a70f4a883943bc9d39b3bb7307c04c41410990726
  category: main
  optional: false
- name: _openmp_mutex
`),
    body.slice(0, 1500),
  );
  // conda-lock's order (manager, name, platform): one package's platforms together, pip last.
  const order = [...body.matchAll(/^- name: (\S+)\n {2}version: \S+\n {2}manager: (\S+)\n {2}platform: (\S+)$/gm)].map((m) => `${m[2]} ${m[1]} ${m[3]}`);
  assert.equal(order.length, 72);
  assert.deepEqual(order, [...order].sort());
  assert.match(body, /- name: bzip2\n[^]*?platform: linux-64[^]*?- name: bzip2\n[^]*?platform: osx-arm64/);
  assert.equal(order.at(-1), "pip certifi win-64");
  // Compared with what conda-lock wrote, only the header, the channel spelling and '' -> '*' differ.
  const original = FIXTURE.slice(FIXTURE.indexOf("version: 1")).split("\n");
  const written = body.split("\n");
  assert.equal(written.length, original.length);
  const differing = written.filter((line, i) => line !== original[i]);
  assert.deepEqual([...new Set(differing)].sort(), ["    __unix: '*'", "    __win: '*'", "    ca-certificates: '*'", "    python: '*'", "    setuptools: '*'", "    tzdata: '*'", "    wheel: '*'", "  - url: https://conda.anaconda.org/conda-forge"]);
});

test("depends <-> dependencies: version and build constraints survive, a bare name is '*'", () => {
  const numpy = pkg("numpy", "1.26.4", "py311h64a7726_0", { depends: ["python >=3.11,<3.12.0a0", "python_abi 3.11.* *_cp311", "libzlib", "libblas >=3.9.0,<4.0a0"] });
  const text = serializeCondaLock(lockOf([numpy]));
  assert.match(text, /\n {2}dependencies:\n {4}python: '>=3.11,<3.12.0a0'\n {4}python_abi: 3.11.\* \*_cp311\n {4}libzlib: '\*'\n {4}libblas: '>=3.9.0,<4.0a0'\n/);
  assert.deepEqual(parseCondaLock(FILE, text).packages[0]?.depends, numpy.depends);
});

test("what conda-lock v1 has no place for is not written; the rest survives (build number from the build string)", () => {
  const kept = { ...pkg("python", "3.11.6", "hab00c5b_0_cpython"), buildNumber: 0 };
  const full = { ...kept, constrains: ["python_abi 3.11.* *_cp311"], size: 30_000_000, license: "Python-2.0", timestamp: 1_700_000_000_000, noarch: "python" as const };
  const text = serializeCondaLock(lockOf([full]));
  assert.doesNotMatch(text, /constrains|size|license|timestamp|noarch|build/);
  assert.deepEqual(parseCondaLock(FILE, text).packages[0], kept);
});

test("the same Lock gives the same bytes, whatever order its parts come in", () => {
  const a = pkg("a", "1.0", "h0_0");
  const b = pkg("b", "2.0", "h1_1", { platform: "osx-arm64" });
  const c = pkg("c", "3.0", "pyh_0", { subdir: "noarch" });
  const one = lockOf([a, b, c], { metadata: { "condaops.commit": "abc", "condaops.as_of": "2024-05-01T00:00:00Z" } });
  const two: Lock = { ...one, packages: [c, b, a], platforms: ["osx-arm64", "linux-64"], contentHash: { "osx-arm64": "0".repeat(64), "linux-64": "0".repeat(64) }, metadata: { "condaops.as_of": "2024-05-01T00:00:00Z", "condaops.commit": "abc" } };
  assert.equal(serializeCondaLock(two), serializeCondaLock(one));
  assert.match(serializeCondaLock(one), /\n {2}custom_metadata:\n {4}condaops.as_of: '2024-05-01T00:00:00Z'\n {4}condaops.commit: abc\npackage:\n/);
  assert.deepEqual(parseCondaLock(FILE, serializeCondaLock(one)).metadata, one.metadata);
});

test("strings that YAML 1.1 (conda-lock's PyYAML) would read as numbers or booleans are quoted", () => {
  const odd = ["2022_12", "1:20", "010", "yes", "on", "1.10", "0o17", "null", "6.4", "2023c", ""];
  const lock = lockOf([pkg("x", "1.0", "h_0")], { metadata: Object.fromEntries(odd.map((v, i) => [`k${String(i).padStart(2, "0")}`, v])) });
  const text = serializeCondaLock(lock);
  for (const version of ["1.1", "1.2"] as const) {
    const doc = parse(text, { version }) as { metadata: { custom_metadata: Record<string, unknown> } };
    assert.deepEqual(Object.values(doc.metadata.custom_metadata), odd, `as YAML ${version}`);
  }
  assert.match(text, /k00: '2022_12'/);
  assert.match(text, /k09: 2023c/, "a plain-safe string stays unquoted, as PyYAML writes it");
});

test("channel spellings: a name, a URL with a trailing slash, defaults", () => {
  const lock = parseCondaLock(FILE, variant((t) => t.replace("  - url: conda-forge\n    used_env_vars: []\n", "  - url: conda-forge\n    used_env_vars: []\n  - url: https://example.org/private/\n    used_env_vars: []\n  - url: defaults\n    used_env_vars: []\n")));
  assert.deepEqual(lock.channels, [CONDA_FORGE, "https://example.org/private", "https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]);
});

test("an optional build key is accepted when it agrees with the URL", () => {
  const ok = variant((t) => t.replace("  category: main", "  build: h4bc722e_7\n  category: main"));
  assert.equal(parseCondaLock(FILE, ok).packages[0]?.build, "h4bc722e_7");
  const e = rejection(variant((t) => t.replace("  category: main", "  build: h4bc722e_8\n  category: main")));
  assert.match(e.message, /says build "h4bc722e_8" but its URL has build "h4bc722e_7"/);
  assert.equal(e.position?.line, 24);
});

// ------------------------------------------------------------------------------------------------
// Hostile and broken locks

test("not YAML: a syntax error with its position", () => {
  const e = rejection("version: 1\nmetadata: [\n  {\n");
  assert.equal(e.code, "yaml.syntax");
  assert.equal(e.position?.file, FILE);
  assert.ok(e.position?.line !== undefined);
});

test("YAML that is not a lock mapping", () => {
  assert.match(rejection("- a\n- b\n").message, /a conda-lock file is a mapping with the keys version, metadata and package/);
  assert.match(rejection("just words\n").message, /mapping/);
});

test("version 2 is refused with what to do; other versions and a missing version too", () => {
  const e = rejection(variant((t) => t.replace("version: 1", "version: 2")));
  assert.equal(e.message, "conda-lock lock file version 2 is not supported");
  assert.match(e.hint ?? "", /condaops reads version 1/);
  assert.equal(e.format().split(":").slice(0, 3).join(":"), `${FILE}:1:10`);
  assert.match(rejection(variant((t) => t.replace("version: 1", "version: 7"))).message, /unknown lock file version 7/);
  assert.match(rejection(variant((t) => t.replace("version: 1\n", ""))).message, /no "version"/);
  assert.match(rejection("version: 6\nenvironments:\n  default: {}\npackages: []\n").message, /pixi lock file \(format version 6\)/);
});

test("a package without a hash, or without sha256, or a conda package without md5", () => {
  const noHash = rejection(variant((t) => t.replace(/ {2}hash:\n.*\n.*\n/, "")));
  assert.equal(noHash.message, '"package[0]" is missing the required key "hash"');
  assert.equal(noHash.position?.line, 13);
  assert.match(noHash.hint ?? "", /regenerate the lock/);
  assert.match(rejection(variant((t) => t.replace(/ {4}sha256: .*\n/, ""))).message, /"package\[0\].hash" is missing the required key "sha256"/);
  assert.match(rejection(variant((t) => t.replace(/ {4}md5: .*\n/, ""))).message, /"package\[0\].hash" is missing the required key "md5"/);
});

test("a malformed sha256 or md5 is refused at its line and column", () => {
  for (const bad of ["5ced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770", "5CED96500D945FB286C9C838E54FA759AA04A7129C59800F0846B4335CEE770D", "zced96500d945fb286c9c838e54fa759aa04a7129c59800f0846b4335cee770d"]) {
    const e = rejection(variant((t) => t.replace(/sha256: 5ced\w+/, `sha256: ${bad}`)));
    assert.match(e.message, /"package\[0\].hash.sha256" is "\w+", which is not a sha256 digest \(64 lowercase hex digits\)/);
    assert.deepEqual([e.position?.line, e.position?.column], [23, 13]);
  }
  assert.match(rejection(variant((t) => t.replace("md5: 62ee74e96c5ebb0af99386de58cf9553", "md5: 62ee74"))).message, /not an md5 digest/);
});

test("a package listed twice for one platform", () => {
  const text = variant((t) => t + t.slice(t.indexOf("- name: bzip2")));
  const e = rejection(text);
  assert.equal(e.message, "package bzip2 (conda) is listed twice for linux-64 (first at line 13)");
  assert.equal(e.position?.line, 26);
});

test("credentials in a URL are refused without repeating them", () => {
  const cases = [
    variant((t) => t.replace("url: https://conda.anaconda.org/conda-forge/linux-64/", "url: https://user:s3cr3t-tok@conda.example.org/conda-forge/linux-64/")),
    variant((t) => t.replace("url: https://conda.anaconda.org/conda-forge/linux-64/", "url: https://conda.anaconda.org/t/s3cr3t-tok/conda-forge/linux-64/")),
    variant((t) => t.replace("  - url: conda-forge", "  - url: https://s3cr3t-tok@conda.example.org/private")),
  ];
  for (const text of cases) {
    const e = rejection(text);
    assert.equal(e.code, "lock.credentials");
    assert.match(e.message, /holds a URL with credentials/);
    assert.doesNotMatch(JSON.stringify(e.toJSON()) + e.format(), /s3cr3t/);
    assert.ok(e.position?.line !== undefined && e.position.line > 1);
  }
});

test("a file over 64 MiB is refused before it is parsed", () => {
  const e = rejection(variant((t) => t) + "#" + " ".repeat(CONDA_LOCK_MAX_BYTES));
  assert.equal(e.code, "lock.too-large");
  assert.match(e.message, /more than the limit of 67108864 \(64 MiB\)/);
});

test("alias bombs and duplicate keys are refused by the YAML layer", () => {
  assert.equal(rejection(variant((t) => t.replace("  category: main\n", "  category: main\n  category: main\n"))).code, "yaml.syntax");
  const bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nversion: 1\n";
  assert.equal(rejection(bomb).code, "yaml.aliases");
});

test("schema rules: unknown keys, manager, platform, URL form", () => {
  const unknownTop = rejection(variant((t) => t + "extra: 1\n"));
  assert.match(unknownTop.message, /unknown key "extra" in the file \(allowed: version, metadata, package\)/);
  assert.match(rejection(variant((t) => t.replace("  category: main", "  constrains: {}\n  category: main"))).message, /unknown key "constrains" in "package\[0\]"/);
  assert.match(rejection(variant((t) => t.replace("manager: conda", "manager: npm"))).message, /"package\[0\].manager" must be one of: "conda", "pip"/);
  assert.match(rejection(variant((t) => t.replace("  platform: linux-64", "  platform: linux-65"))).message, /"package\[0\].platform" must be one of/);
  assert.match(rejection(variant((t) => t.replace("url: https://conda.anaconda.org", "url: ftp://conda.anaconda.org"))).message, /not an http\(s\):\/\/, file:\/\/ or s3:\/\/ URL/);
  assert.match(rejection(variant((t) => t.replace("version: 1.0.8", "version: 1.0 8"))).message, /"package\[0\].version" is "1.0 8", which is not a version/);
  assert.match(rejection(variant((t) => t.replace("optional: false", "optional: 'no'"))).message, /"package\[0\].optional" must be true or false/);
});

test("consistency the schema cannot see: platforms, subdirs, file names, content hashes, source installs", () => {
  const otherPlatform = rejection(variant((t) => t.replace("  platform: linux-64", "  platform: osx-64")));
  assert.match(otherPlatform.message, /package bzip2 is for osx-64, which is not in metadata.platforms \(linux-64\)/);
  assert.match(rejection(variant((t) => t.replace("conda-forge/linux-64/bzip2", "conda-forge/osx-64/bzip2"))).message, /comes from subdir "osx-64", which is neither linux-64 nor noarch/);
  assert.match(rejection(variant((t) => t.replace("bzip2-1.0.8-h4bc722e_7.conda", "bzip2-1.0.9-h4bc722e_7.conda"))).message, /file name "bzip2-1.0.9-h4bc722e_7.conda" of bzip2 \(linux-64\) is not bzip2-1.0.8-<build>/);
  assert.match(rejection(variant((t) => t.replace("h4bc722e_7.conda", "h4bc722e_7.whl"))).message, /is not bzip2-1.0.8-<build>.conda or .tar.bz2/);
  assert.match(rejection(variant((t) => t.replace("https://conda.anaconda.org/conda-forge/linux-64/", "https://x/"))).message, /not a conda package URL/);
  assert.match(rejection(variant((t) => t.replace(/ {4}linux-64: 4e30\w+\n/, "    osx-64: 4e3086c7\n"))).message, /content_hash has an entry for osx-64, which is not in metadata.platforms/);
  assert.match(rejection(variant((t) => t.replace("  platforms:\n  - linux-64\n", "  platforms:\n  - linux-64\n  - win-64\n"))).message, /content_hash has no entry for platform win-64/);
  assert.match(rejection(variant((t) => t.replace("  category: main", "  source:\n    type: url\n    url: https://example.org/x.tar.gz\n  category: main"))).message, /installed from a source URL/);
});

test("every rejection names the file, line and column and says what to do", () => {
  const e = rejection(variant((t) => t.replace("manager: conda", "manager: npm")));
  assert.match(e.format(), /^data-science\/ml\.lock\.yml:15:12: "package\[0\]\.manager" must be one of: "conda", "pip"; this is not a valid conda-lock v1 file; regenerate the lock/);
});

test("serialising refuses credentials that reached a Lock", () => {
  const p = { ...pkg("x", "1", "h_0"), url: "https://u:s3cr3t@h/c/linux-64/x-1-h_0.conda" };
  assert.throws(() => serializeCondaLock(lockOf([p])), (e: unknown) => e instanceof InputError && e.code === "lock.credentials" && !e.message.includes("s3cr3t"));
});

test("conda-lock's optional metadata is accepted (and not kept); absent dependencies and category default", () => {
  const text = variant((t) =>
    t
      .replace("  sources:\n  - environment.yml\n", "  sources:\n  - environment.yml\n  time_metadata:\n    created_at: '2024-05-01T12:00:00Z'\n  git_metadata:\n    git_sha: 0123abcd\n    git_user_name: Jane\n  inputs_metadata:\n    environment.yml:\n      md5: 62ee74e96c5ebb0af99386de58cf9553\n")
      .replace(/ {2}dependencies:\n.*\n.*\n/, "")
      .replace("  category: main\n", ""),
  );
  const lock = parseCondaLock(FILE, text);
  assert.deepEqual(lock.metadata, {});
  assert.deepEqual([lock.packages[0]?.depends, lock.packages[0]?.category], [[], "main"]);
});

test("the schema's platforms are rattler's target platforms", () => {
  assert.deepEqual(condaLockSchema.$defs.platform.enum, platformNames.filter((p) => p !== "noarch" && p !== "unknown"));
});

test("a package cannot pass under a shorter name: versions and builds contain no '-'", async () => {
  const { pkg, lockOf } = await import("./lock-builders.ts");
  const { parseCondaLock: parse, serializeCondaLock: serialize } = await import("../../../src/builder/lock/conda-lock-v1.ts");
  // ca-certificates-2024.2.2-h0_0.conda dressed up as package "ca", version "certificates".
  const disguised = serialize(lockOf([pkg("ca", "certificates", "2024.2.2-h0_0")]));
  assert.throws(() => parse("x.lock.yml", disguised), (e: unknown) => e instanceof Error && /"2024\.2\.2-h0_0", is not a build string/.test(e.message));
  const dashed = serialize(lockOf([pkg("libgcc", "ng-9.1.0", "h0_0")]));
  assert.throws(() => parse("x.lock.yml", dashed), /conda versions contain no "-"/);
});
