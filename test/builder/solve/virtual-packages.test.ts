import { test } from "node:test";
import assert from "node:assert/strict";
import { virtualPackages } from "../../../src/builder/solve/virtual-packages.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";

const names = (p: string, vars: Record<string, string> = {}) => virtualPackages(p, DEFAULT_VIRTUAL_PACKAGES, vars).map((r) => `${r.name}=${r.version}=${r.build}`);

test("each platform family gets its virtual packages, with the configured versions", () => {
  assert.deepEqual(names("linux-64"), ["__archspec=1=x86_64", "__unix=0=0", "__linux=5.10=0", "__glibc=2.28=0"]);
  assert.deepEqual(names("osx-arm64"), ["__archspec=1=arm64", "__unix=0=0", "__osx=11.0=0"]);
  assert.deepEqual(names("win-64"), ["__archspec=1=x86_64", "__win=0=0"]);
  assert.deepEqual(names("linux-aarch64").slice(0, 1), ["__archspec=1=aarch64"]);
});

test("CONDA_OVERRIDE_CUDA in the spec's variables adds __cuda; conda's other overrides apply too", () => {
  assert.ok(names("linux-64", { CONDA_OVERRIDE_CUDA: "12" }).includes("__cuda=12=0"));
  assert.ok(!names("linux-64").some((n) => n.startsWith("__cuda")), "no CUDA unless asked for");
  assert.ok(!names("osx-arm64", { CONDA_OVERRIDE_CUDA: "12" }).some((n) => n.startsWith("__cuda")), "macOS has no CUDA");
  assert.ok(names("linux-64", { CONDA_OVERRIDE_GLIBC: "2.17" }).includes("__glibc=2.17=0"));
  assert.ok(!names("linux-64", { CONDA_OVERRIDE_GLIBC: "" }).some((n) => n.startsWith("__glibc")), "an empty override removes it, as in conda");
});
