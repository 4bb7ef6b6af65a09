import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { parseCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import { pinnedEnvironmentYaml } from "../../../src/builder/lock/pinned-yaml.ts";
import { CONDA_FORGE, lockOf, pkg } from "./lock-builders.ts";

const BIOCONDA = "https://conda.anaconda.org/bioconda";

test("the pinned environment.yml: short channel names, nodefaults, name=version=build sorted by name, pip, variables", () => {
  const lock = lockOf(
    [
      pkg("python", "3.11.6", "hab00c5b_0_cpython"),
      pkg("samtools", "1.19", "h50ea8bc_0", { channel: BIOCONDA }),
      pkg("numpy", "1.26.4", "py311h64a7726_0"),
      pkg("six", "1.16.0", "pyh6c4a22f_0", { subdir: "noarch" }),
      pkg("certifi", "2023.7.22", "", { manager: "pip" }),
      pkg("zlib", "1.3", "h0_0", { platform: "osx-arm64" }),
    ],
    { channels: [CONDA_FORGE, BIOCONDA] },
  );
  assert.equal(
    pinnedEnvironmentYaml(lock, "linux-64", { name: "ml", variables: { OMP_NUM_THREADS: "1", A: "yes" } }),
    `name: ml
channels:
  - conda-forge
  - bioconda
  - nodefaults
dependencies:
  - numpy=1.26.4=py311h64a7726_0
  - python=3.11.6=hab00c5b_0_cpython
  - bioconda::samtools=1.19=h50ea8bc_0
  - six=1.16.0=pyh6c4a22f_0
  - pip:
      - certifi==2023.7.22
variables:
  A: 'yes'
  OMP_NUM_THREADS: '1'
`,
  );
});

test("it is YAML that reads back as the environment conda expects", () => {
  const lock = parseCondaLock("conda-lock.yml", readFileSync(new URL("./__fixtures__/conda-lock.yml", import.meta.url), "utf8"));
  const doc = parse(pinnedEnvironmentYaml(lock, "win-64", { name: "data science" }), { version: "1.1" }) as { name: string; channels: string[]; dependencies: (string | { pip: string[] })[] };
  assert.equal(doc.name, "data science");
  assert.deepEqual(doc.channels, ["conda-forge", "nodefaults"]);
  const conda = doc.dependencies.filter((d): d is string => typeof d === "string");
  assert.equal(conda.length, lock.packages.filter((p) => p.platform === "win-64" && p.manager === "conda").length);
  assert.ok(conda.includes("python_abi=3.11=4_cp311"));
  assert.ok(conda.includes("ca-certificates=2025.4.26=h4c7d964_0"));
  const names = conda.map((d) => d.split("=")[0] ?? "");
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(doc.dependencies.at(-1), { pip: ["certifi==2023.7.22"] });
});

test("channels given explicitly, with another alias; URLs outside the alias stay URLs", () => {
  const alias = "https://conda.example.org";
  const lock = lockOf([pkg("a", "1.0", "h_0", { channel: `${alias}/internal` }), pkg("b", "2.0", "h_0", { channel: "https://other.example.org/conda" })]);
  const text = pinnedEnvironmentYaml(lock, "linux-64", { name: "x", channels: [`${alias}/internal/`, "https://other.example.org/conda", "nodefaults"], channelAlias: alias });
  assert.equal(text, "name: x\nchannels:\n  - internal\n  - https://other.example.org/conda\n  - nodefaults\ndependencies:\n  - a=1.0=h_0\n  - https://other.example.org/conda::b=2.0=h_0\n");
});
