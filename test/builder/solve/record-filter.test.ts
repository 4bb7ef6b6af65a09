import { test } from "node:test";
import assert from "node:assert/strict";
import { dependencyName, filterRecords, reachableNames, recordMatcher } from "../../../src/builder/solve/record-filter.ts";
import type { RepodataRecord } from "../../../src/builder/channels/repodata.ts";
import { parseMatchSpec } from "../../../src/spec/match-spec.ts";
import type { MatchSpec } from "../../../src/spec/match-spec.ts";

const spec = (t: string): MatchSpec => {
  const r = parseMatchSpec(t);
  assert.ok(r.ok, t);
  return r.spec;
};
const rec = (name: string, version: string, extra: Partial<RepodataRecord> = {}): RepodataRecord => ({ name, version, build: "0", build_number: 0, depends: [], subdir: "linux-64", fn: `${name}-${version}-0.conda`, ...extra });

test("dependencyName reads the name of repodata depends strings", () => {
  assert.equal(dependencyName("python >=3.11,<3.12.0a0"), "python");
  assert.equal(dependencyName("python_abi 3.11.* *_cp311"), "python_abi");
  assert.equal(dependencyName("libzlib"), "libzlib");
  assert.equal(dependencyName("__glibc>=2.17"), "__glibc");
  assert.equal(dependencyName("conda-forge::NumPy>=1"), "numpy");
});

test("as-of drops records published later; records without a timestamp are kept", () => {
  const asOf = Date.parse("2024-06-01T00:00:00Z");
  const stats = { newer: 0, blocked: 0, constrained: 0 };
  const kept = filterRecords([rec("a", "1", { timestamp: asOf - 1 }), rec("a", "2", { timestamp: asOf + 1 }), rec("a", "3"), rec("a", "4", { timestamp: asOf })], { asOf }, stats);
  assert.deepEqual(kept.map((r) => r.version), ["1", "3", "4"]);
  assert.equal(stats.newer, 1);
});

test("blocked specs drop exactly the matching records", () => {
  const kept = filterRecords([rec("openssl", "1.1.1w"), rec("openssl", "3.0.0"), rec("pycrypto", "2.6"), rec("numpy", "1.26")], { blocked: [spec("openssl<3"), spec("pycrypto")] });
  assert.deepEqual(kept.map((r) => `${r.name}-${r.version}`), ["openssl-3.0.0", "numpy-1.26"]);
});

test("constraints drop the versions a pin excludes, for that name only", () => {
  const kept = filterRecords([rec("numpy", "1.26.4"), rec("numpy", "2.0.0"), rec("pandas", "2.0.0")], { constraints: [spec("numpy 1.26.*")] });
  assert.deepEqual(kept.map((r) => `${r.name}-${r.version}`), ["numpy-1.26.4", "pandas-2.0.0"]);
});

test("build globs and build numbers match like conda", () => {
  const m = recordMatcher(spec("pytorch * cuda*"));
  assert.equal(m(rec("pytorch", "2.3", { build: "cuda120_py311h0" })), true);
  assert.equal(m(rec("pytorch", "2.3", { build: "cpu_py311h0" })), false);
  assert.equal(recordMatcher(spec("x[build_number=3]"))(rec("x", "1", { build_number: 3 })), true);
  assert.equal(recordMatcher(spec("x[build_number=3]"))(rec("x", "1", { build_number: 2 })), false);
});

test("reachable names follow depends across channels and subdirs, and nothing else", () => {
  const linux = [rec("pandas", "2", { depends: ["numpy >=1.26", "python"] }), rec("numpy", "1.26", { depends: ["libblas"] }), rec("unrelated", "1", { depends: ["pandas"] })];
  const noarch = [rec("libblas", "3", { depends: ["__glibc >=2.17"] }), rec("python", "3.11", { depends: [] })];
  assert.deepEqual([...reachableNames([linux, noarch], ["pandas"])].sort(), ["__glibc", "libblas", "numpy", "pandas", "python"]);
});
