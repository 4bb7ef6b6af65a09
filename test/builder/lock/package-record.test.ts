import { test } from "node:test";
import assert from "node:assert/strict";
import { parse } from "yaml";
import { buildFromFilename, buildNumberFromBuild, dependencyEntries, joinDepend, splitDepend, splitPackageUrl } from "../../../src/builder/lock/package-record.ts";
import { hasCredentials, redactText } from "../../../src/builder/channels/redact.ts";
import { yamlScalar } from "../../../src/builder/lock/yaml-emit.ts";

test("repodata depends <-> conda-lock dependencies", () => {
  assert.deepEqual(splitDepend("python >=3.11,<3.12.0a0"), ["python", ">=3.11,<3.12.0a0"]);
  assert.deepEqual(splitDepend("python_abi 3.11.* *_cp311"), ["python_abi", "3.11.* *_cp311"]);
  assert.deepEqual(splitDepend("libzlib"), ["libzlib", "*"]);
  assert.deepEqual(splitDepend("pip>=21"), ["pip", ">=21"]);
  assert.deepEqual(splitDepend("__glibc >=2.17"), ["__glibc", ">=2.17"]);
  assert.equal(joinDepend("libzlib", "*"), "libzlib");
  assert.equal(joinDepend("libzlib", ""), "libzlib");
  assert.equal(joinDepend("python_abi", "3.11.* *_cp311"), "python_abi 3.11.* *_cp311");
  for (const d of ["python >=3.11,<3.12.0a0", "python_abi 3.11.* *_cp311", "libzlib", "openssl >=3.1.3,<4.0a0"]) {
    assert.equal(joinDepend(...splitDepend(d)), d);
  }
  assert.deepEqual(dependencyEntries(["a >=1", "b", "a <2"]), [["a", ">=1"], ["b", "*"]]);
});

test("URL parts and build strings", () => {
  assert.deepEqual(splitPackageUrl("https://conda.anaconda.org/conda-forge/label/dev/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2"), {
    channel: "https://conda.anaconda.org/conda-forge/label/dev",
    subdir: "noarch",
    filename: "six-1.16.0-pyh6c4a22f_0.tar.bz2",
  });
  assert.deepEqual(splitPackageUrl("file:///srv/channel/linux-64/a-1-h_0.conda"), { channel: "file:///srv/channel", subdir: "linux-64", filename: "a-1-h_0.conda" });
  assert.equal(splitPackageUrl("https://host/a-1-h_0.conda"), undefined);
  assert.equal(buildFromFilename("ld_impl_linux-64-2.40-h41732ed_0.conda", "ld_impl_linux-64", "2.40"), "h41732ed_0");
  assert.equal(buildFromFilename("ld_impl_linux-64-2.40-h41732ed_0.conda"), "h41732ed_0");
  assert.equal(buildFromFilename("a-1.0-h_0.whl"), undefined);
  assert.equal(buildFromFilename("a-1.0-h_0.conda", "a", "2.0"), undefined);
});

test("build numbers recovered from conda-build's build strings", () => {
  const cases: [string, number][] = [["py311h64a7726_0", 0], ["noxft_h4845f30_101", 101], ["2_gnu", 2], ["4_cp311", 4], ["hab00c5b_0_cpython", 0], ["h0_5_cpython", 5], ["conda_forge", 0], ["3", 3], ["pyhd8ed1ab", 0]];
  for (const [build, n] of cases) assert.equal(buildNumberFromBuild(build), n, build);
});

test("credentials are detected and redacted", () => {
  assert.equal(hasCredentials("https://user:tok@host/c"), true);
  assert.equal(hasCredentials("https://tok@host/c"), true);
  assert.equal(hasCredentials("https://conda.anaconda.org/t/abc-123/conda-forge/linux-64/x.conda"), true);
  assert.equal(hasCredentials("https://conda.anaconda.org/conda-forge/linux-64/x.conda"), false);
  assert.equal(hasCredentials("https://host/pkgs/a@b/x.conda"), false, "an @ in the path is not userinfo");
  assert.equal(redactText("see https://user:tok@host/t/secret/c and more"), "see https://host/t/***/c and more");
});

test("YAML scalars read back as the same string under YAML 1.1 and 1.2", () => {
  const tricky = [
    "0.1", "1.10", "2022_12", "1:20", "010", "0o17", "0x1F", "1e3", ".inf", ".NaN", "2001-12-14", "yes", "No", "on", "OFF", "y", "n", "null", "~", "", "*", "&a", "!x", "%x", "@x", "`x", "|x", ">=3.11,<3.12.0a0",
    "3.11.* *_cp311", "a: b", "a:", "#x", "x #y", "x ", " x", "it's", '"q"', "- x", "? x", "[x]", "{x}", ",x", "multi\nline", "tab\there", "\u2028", "é", "https://conda.anaconda.org/conda-forge/noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2",
  ];
  for (const s of tricky) {
    const line = `k: ${yamlScalar(s)}\n`;
    for (const version of ["1.1", "1.2"] as const) assert.deepEqual(parse(line, { version }), { k: s }, `${JSON.stringify(s)} as ${line.trim()} (YAML ${version})`);
  }
  assert.equal(yamlScalar("1.0.8"), "1.0.8");
  assert.equal(yamlScalar("0.1"), "'0.1'");
  assert.equal(yamlScalar(">=12"), "'>=12'");
  assert.equal(yamlScalar("python_abi"), "python_abi");
});
