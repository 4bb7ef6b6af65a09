import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { canonicalChannel, ensureCondaMeta, writeCondaMetaRecord, writeHistory, writeState } from "../../../src/builder/install/conda-meta.ts";
import { linkPackage } from "../../../src/builder/install/link-package.ts";
import type { LinkContext } from "../../../src/builder/install/types.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { fixturePackage } from "./extract-cli.ts";

let u: Universe;
let work: string;
let n = 0;
before(async () => {
  u = await sharedUniverse();
  work = await mkdtemp(join(tmpdir(), "condaops-meta-"));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const ctxFor = (extra: Partial<LinkContext> = {}): LinkContext => {
  const prefix = join(work, "envs", `e${++n}`);
  return { prefix, staging: `${prefix}.partial-x`, platform: "linux-64", hardlinks: true, ...extra };
};

test("conda-meta/<name>-<version>-<build>.json has conda's fields, field by field", async () => {
  const pkg = await fixturePackage(u, join(work, "pkgs"), "linkdemo");
  const ctx = ctxFor();
  const linked = await linkPackage(pkg, ctx);
  const file = await writeCondaMetaRecord(ctx.staging, pkg, linked, { prefix: ctx.prefix, requestedSpec: "linkdemo >=1" });
  assert.equal(file, join(ctx.staging, "conda-meta", "linkdemo-1.0-h0_0.json"));
  const rec = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  const r = pkg.record;
  assert.deepEqual(Object.keys(rec), [...Object.keys(rec)].sort(), "keys sorted, as conda writes them");
  assert.equal(rec.name, "linkdemo");
  assert.equal(rec.version, "1.0");
  assert.equal(rec.build, "h0_0");
  assert.equal(rec.build_number, 0);
  assert.equal(rec.channel, "https://conda.anaconda.org/conda-forge/linux-64");
  assert.equal(rec.subdir, "linux-64");
  assert.equal(rec.fn, r.filename);
  assert.equal(rec.url, `https://conda.anaconda.org/conda-forge/linux-64/${r.filename}`);
  assert.equal(rec.md5, r.md5);
  assert.equal(rec.sha256, r.sha256);
  assert.equal(rec.size, r.size);
  assert.equal(rec.license, "MIT");
  assert.equal(rec.timestamp, r.timestamp);
  assert.deepEqual(rec.depends, []);
  assert.deepEqual(rec.constrains, []);
  assert.equal(rec.features, "");
  assert.equal(rec.track_features, "");
  assert.equal(rec.extracted_package_dir, pkg.dir);
  assert.equal(rec.package_tarball_full_path, pkg.archive);
  assert.deepEqual(rec.link, { source: pkg.dir, type: linked.linkType === "hardlink" ? 1 : 3 });
  assert.equal(rec.requested_spec, "linkdemo >=1");
  assert.deepEqual(rec.requested_specs, ["linkdemo >=1"]);
  assert.deepEqual(rec.files, ["etc/linkdemo.conf", "share/linkdemo/current.txt", "share/linkdemo/data.txt"]);
  const pd = rec.paths_data as { paths_version: number; paths: Record<string, unknown>[] };
  assert.equal(pd.paths_version, 1);
  assert.deepEqual(
    pd.paths.map((p) => [p._path, p.path_type, p.no_link ?? false]),
    [
      ["etc/linkdemo.conf", "hardlink", true],
      ["share/linkdemo/current.txt", "softlink", false],
      ["share/linkdemo/data.txt", "hardlink", false],
    ],
  );
  const data = pd.paths[2] as Record<string, unknown>;
  assert.match(String(data.sha256), /^[0-9a-f]{64}$/);
  assert.equal(data.sha256_in_prefix, data.sha256);
  assert.equal(data.size_in_bytes, "linkdemo data\n".length);
  assert.equal(rec.noarch, undefined);
  assert.equal(rec.package_type, undefined);
});

test("noarch: python records: mapped files, the entry point, package_type, no requested spec", async () => {
  const python = await fixturePackage(u, join(work, "pkgs"), "python", "3.11.7");
  const requests = await fixturePackage(u, join(work, "pkgs"), "requests", "2.31.0");
  const ctx = ctxFor({ pythonVersion: "3.11" });
  await linkPackage(python, ctx);
  const linked = await linkPackage(requests, ctx);
  const rec = JSON.parse(await readFile(await writeCondaMetaRecord(ctx.staging, requests, linked, { prefix: ctx.prefix }), "utf8")) as Record<string, unknown>;
  assert.equal(rec.noarch, "python");
  assert.equal(rec.package_type, "noarch_python");
  assert.equal(rec.channel, "https://conda.anaconda.org/conda-forge/noarch");
  assert.equal(rec.requested_spec, undefined);
  assert.deepEqual(rec.requested_specs, []);
  assert.deepEqual(rec.files, [
    "bin/requests-cli",
    "lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
    "lib/python3.11/site-packages/requests/__init__.py",
    "lib/python3.11/site-packages/requests/cli.py",
  ]);
  const paths = (rec.paths_data as { paths: { _path: string; sha256?: string; size_in_bytes?: number }[] }).paths;
  assert.deepEqual(paths.map((p) => p._path), rec.files);
  const ep = paths[0];
  assert.equal(ep?.size_in_bytes, (await readFile(join(ctx.staging, "bin/requests-cli"))).length);
  // conda-meta holds the python's record too, and conda's marker file
  await writeCondaMetaRecord(ctx.staging, python, await linkPackage(python, ctxFor({ pythonVersion: "3.11" })), { prefix: ctx.prefix, requestedSpec: "python 3.11.*" });
  assert.deepEqual((await readdir(join(ctx.staging, "conda-meta"))).sort(), ["history", "python-3.11.7-hfe4624e_0_cpython.json", "requests-2.31.0-pyhd8ed1ab_0.json"]);
});

test("history: conda's revision format, appended", async () => {
  const ctx = ctxFor();
  const pkgs = [await fixturePackage(u, join(work, "pkgs"), "linkdemo"), await fixturePackage(u, join(work, "pkgs"), "hello-prefix")];
  await ensureCondaMeta(ctx.staging);
  assert.equal(await readFile(join(ctx.staging, "conda-meta", "history"), "utf8"), "");
  const date = new Date(2024, 4, 1, 9, 5, 7);
  await writeHistory(ctx.staging, pkgs, { specs: ["linkdemo >=1", "hello-prefix", "it's"], date });
  await writeHistory(ctx.staging, [], { specs: [], date, cmd: "condaops install again" });
  assert.equal(
    await readFile(join(ctx.staging, "conda-meta", "history"), "utf8"),
    [
      "==> 2024-05-01 09:05:07 <==",
      "# cmd: condaops install",
      "+conda-forge/linux-64::linkdemo-1.0-h0_0",
      "+conda-forge/noarch::hello-prefix-1.0-0",
      `# update specs: ['linkdemo >=1', 'hello-prefix', "it's"]`,
      "==> 2024-05-01 09:05:07 <==",
      "# cmd: condaops install again",
      "",
    ].join("\n"),
  );
  assert.equal(canonicalChannel("https://conda.anaconda.org/bioconda"), "bioconda");
  assert.equal(canonicalChannel("https://repo.anaconda.com/pkgs/main"), "pkgs/main");
  assert.equal(canonicalChannel("http://127.0.0.1:8000/extra"), "http://127.0.0.1:8000/extra");
});

test("state: the spec's variables as conda env config vars writes them; none, no file", async () => {
  const ctx = ctxFor();
  await writeState(ctx.staging, {});
  assert.equal(existsSync(join(ctx.staging, "conda-meta", "state")), false);
  await writeState(ctx.staging, { OMP_NUM_THREADS: "4", GREETING: 'say "hé"' });
  const text = await readFile(join(ctx.staging, "conda-meta", "state"), "utf8");
  assert.equal(text, '{"env_vars": {"OMP_NUM_THREADS": "4", "GREETING": "say \\"hé\\""}}');
  assert.deepEqual(JSON.parse(text), { env_vars: { OMP_NUM_THREADS: "4", GREETING: 'say "hé"' } });
  assert.equal(existsSync(join(ctx.staging, "conda-meta", "history")), true);
});
