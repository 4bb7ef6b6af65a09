import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLockPolicy } from "../../../src/builder/lock/lock-policy.ts";
import type { Lock, LockedPackage } from "../../../src/builder/lock/types.ts";
import { effectiveSpec } from "../../support/effective.ts";
import { CONDA_FORGE, pkg } from "./lock-builders.ts";

const ALIAS = "https://conda.anaconda.org";
const lockOf = (packages: LockedPackage[], platforms = ["linux-64"]): Lock => ({ platforms, channels: [CONDA_FORGE], contentHash: {}, sources: [], packages, metadata: {} });
const spec = effectiveSpec(ALIAS, ["python >=3.11", "numpy"], { constraints: ["libzlib >=1.3"], blocked: ["openssl <3"] });
const PY_DEPS = ["libzlib >=1.2.13", "tzdata", "openssl >=1.1"];
const good = [pkg("python", "3.11.7", "h0_0", { depends: PY_DEPS }), pkg("numpy", "1.26.4", "py311h0_0", { depends: ["python >=3.11"] }), pkg("libzlib", "1.3.1", "h0_0"), pkg("tzdata", "2024a", "h0_0", { subdir: "noarch" })];
const messages = (l: Lock, o = {}) => checkLockPolicy(l, spec, "ns/env.lock.yml", o).map((f) => f.message);

test("a lock that obeys the spec and policy passes", () => {
  assert.deepEqual(messages(lockOf(good)), []);
});

test("a package from a channel the spec does not name, or a URL outside its channel, is refused", () => {
  const evil = pkg("numpy", "1.26.4", "py311h0_0", { channel: "https://evil.example/conda-forge" });
  assert.match(messages(lockOf([good[0]!, evil, good[2]!]))[0] ?? "", /evil\.example\/conda-forge, which is not one of the spec's channels/);
  const moved = { ...good[1]!, url: "https://evil.example/numpy-1.26.4-py311h0_0.conda" };
  assert.match(messages(lockOf([good[0]!, moved, good[2]!])).join("\n"), /has the URL https:\/\/evil\.example/);
  const wrongSubdir = pkg("numpy", "1.26.4", "py311h0_0", { subdir: "osx-arm64" });
  assert.match(messages(lockOf([good[0]!, wrongSubdir, good[2]!])).join("\n"), /subdir osx-arm64/);
});

test("the same channels under the configured mirror are accepted", () => {
  const mirror = "http://mirror.internal/conda";
  const mirrored = good.map((p) => pkg(p.name, p.version, p.build, { channel: `${mirror}/conda-forge`, subdir: p.subdir, depends: p.depends }));
  assert.ok(messages(lockOf(mirrored)).length > 0, "without the alias the mirror is foreign");
  assert.deepEqual(messages(lockOf(mirrored), { channelAlias: mirror }), []);
});

test("blocked packages, broken pins, missing or unsatisfied requests and wrong platforms are refused", () => {
  assert.match(messages(lockOf([...good, pkg("openssl", "1.1.1w", "h0_0")])).join("\n"), /openssl 1\.1\.1w .* is blocked by policy/);
  assert.deepEqual(messages(lockOf([...good, pkg("openssl", "3.2.1", "h0_0")])), [], "openssl 3 is not blocked");
  assert.match(messages(lockOf([good[0]!, good[1]!, pkg("libzlib", "1.2.13", "h0_0")])).join("\n"), /breaks the policy's pin "libzlib >=1\.3"/);
  assert.match(messages(lockOf([good[0]!, good[2]!])).join("\n"), /numpy is requested by the spec but not in the lock for linux-64/);
  assert.match(messages(lockOf([pkg("python", "3.10.13", "h0_0", { depends: PY_DEPS }), good[1]!, good[2]!])).join("\n"), /python 3\.10\.13 .* does not satisfy the spec's "python >=3\.11"/);
  assert.match(messages(lockOf(good, ["linux-64", "osx-arm64"])).join("\n"), /the lock is for linux-64, osx-arm64, the spec for linux-64/);
});

test("packages nothing requested depends on, and pip entries, are refused", () => {
  const stray = pkg("left-pad", "1.0", "h0_0");
  assert.deepEqual(messages(lockOf([...good, stray])), ["left-pad 1.0 h0_0 (linux-64) is in the lock, but nothing the spec requests depends on it"]);
  const pip = { ...pkg("requests", "2.31.0", "pypi_0"), manager: "pip" as const };
  assert.match(messages(lockOf([...good, pip])).join("\n"), /requests .* is a pip package: committed locks with pip entries are not supported yet/);
});
