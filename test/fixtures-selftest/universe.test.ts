import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { simpleSolve } from "@conda-org/rattler";
import type { Platform } from "@conda-org/rattler";
import { serveChannels } from "../fixtures/channel.ts";
import type { Repodata } from "../fixtures/channel.ts";
import { buildUniverse, sharedUniverse, UNIVERSE_SUBDIRS } from "../fixtures/universe.ts";
import type { UniverseEntry } from "../fixtures/universe.ts";
import { digests, extract, sh, tempDir } from "./helpers.ts";

const universe = await sharedUniverse();
const server = await serveChannels(universe.dir);
test.after(() => server.close());

const solve = async (specs: string[], channels: string[], platform: Platform = "linux-64"): Promise<Map<string, string>> => {
  const r = await simpleSolve(specs, channels.map((c) => `${server.url}/${c}`), [platform, "noarch"], undefined);
  return new Map(r.map((p) => [p.packageName, `${p.version} ${p.url.slice(server.url.length + 1).split("/")[0]}`]));
};
const find = (name: string, version?: string, build = /./): UniverseEntry => {
  const e = universe.packages.find((p) => p.name === name && (version === undefined || p.version === version) && build.test(p.build) && (p.subdir === "linux-64" || p.subdir === "noarch"));
  assert.ok(e, `${name} ${version ?? ""} in the universe`);
  return e;
};

test("every channel has repodata.json for every subdir, and each record matches its file", () => {
  let n = 0;
  for (const channel of universe.channels) {
    for (const subdir of UNIVERSE_SUBDIRS) {
      const r = JSON.parse(readFileSync(join(universe.dir, channel, subdir, "repodata.json"), "utf8")) as Repodata;
      assert.deepEqual(r.info, { subdir });
      for (const [filename, record] of [...Object.entries(r.packages), ...Object.entries(r["packages.conda"])]) {
        assert.deepEqual(digests(join(universe.dir, channel, subdir, filename)), { sha256: record.sha256, md5: record.md5, size: record.size }, filename);
        n++;
      }
    }
  }
  assert.equal(n, universe.packages.length);
  const formats = new Set(universe.packages.map((p) => p.format));
  assert.deepEqual([...formats].sort(), ["conda", "tar.bz2"]);
  assert.ok(universe.packages.every((p) => p.timestamp >= Date.UTC(2023, 0, 1) && p.timestamp < Date.UTC(2025, 0, 1)));
});

test("smoke solve with rattler: pandas brings numpy and python", async () => {
  const got = await solve(["pandas"], ["conda-forge"]);
  for (const name of ["pandas", "numpy", "python", "python_abi"]) assert.ok(got.has(name), name);
  assert.equal(got.get("pandas"), "2.2.2 conda-forge");
  assert.equal(got.get("numpy"), "2.0.0 conda-forge");
  assert.equal(got.get("_openmp_mutex")?.split(" ")[0], "4.5");
});

test("constrains, python pins, channel priority, osx-arm64, and the __cuda virtual package", async () => {
  const old = await solve(["pandas", "pyarrow<10"], ["conda-forge"]);
  assert.equal(old.get("pandas"), "2.1.4 conda-forge"); // pandas 2.2 constrains pyarrow >=10.0.1
  assert.equal(old.get("numpy"), "1.26.4 conda-forge");
  const py310 = await solve(["scipy", "python=3.10"], ["conda-forge"]);
  assert.equal(py310.get("python_abi"), "3.10 conda-forge");
  assert.equal((await solve(["requests"], ["extra", "conda-forge"])).get("requests"), "2.99.0 extra");
  assert.equal((await solve(["requests"], ["conda-forge", "extra"])).get("requests"), "2.32.3 conda-forge");
  const osx = await solve(["numpy", "requests"], ["conda-forge"], "osx-arm64");
  assert.equal(osx.get("numpy"), "1.26.4 conda-forge");
  assert.ok(osx.has("llvm-openmp"));
  await assert.rejects(solve(["cupy"], ["conda-forge"]), /__cuda/);
});

test("as-of dates separate numpy 2.0 and pandas 2.2 from what came before 2024-06-01", () => {
  const cutoff = Date.UTC(2024, 5, 1);
  assert.ok(universe.packages.filter((p) => p.name === "numpy" && p.version === "2.0.0").every((p) => p.timestamp > cutoff));
  assert.ok(universe.packages.filter((p) => p.name === "pandas" && p.version === "2.2.2").every((p) => p.timestamp > cutoff));
  assert.ok(universe.packages.some((p) => p.name === "pandas" && p.timestamp < cutoff));
});

test("packages really install: python runs with numpy importable, prefixes replaced, scripts run", (t) => {
  const prefix = tempDir("condaops-prefix-");
  const stage = tempDir("condaops-stage-");
  const pkgs = [find("python", "3.11.7"), find("numpy", "1.26.4", /^py311/), find("hello-prefix"), find("linkdemo"), ...(universe.hasCompiler ? [find("prefix-bin")] : [])];
  for (const p of pkgs) {
    const x = join(stage, p.filename);
    extract(join(universe.dir, p.path), x);
    // What an installer does: copy, then replace the placeholders listed in info/has_prefix.
    sh(`cd "${x}" && tar --exclude=./info -cf - . | tar -xf - -C "${prefix}"`);
    const hasPrefix = join(x, "info/has_prefix");
    for (const line of existsSync(hasPrefix) ? readFileSync(hasPrefix, "utf8").split("\n").filter(Boolean) : []) {
      const [placeholder = "", mode, path = ""] = line.split(" ");
      const file = join(prefix, path);
      const body = readFileSync(file);
      const idx = body.indexOf(placeholder);
      assert.ok(idx >= 0, `${path} holds ${placeholder}`);
      // Binary mode as conda does it: rewrite the whole C string, NUL-pad it to its old length.
      const end = mode === "binary" ? body.indexOf(0, idx) : idx + placeholder.length;
      const rest = body.subarray(idx + placeholder.length, end);
      const replacement = mode === "binary" ? Buffer.concat([Buffer.from(prefix), rest, Buffer.alloc(end - idx - prefix.length - rest.length)]) : Buffer.concat([Buffer.from(prefix), rest]);
      writeFileSync(file, Buffer.concat([body.subarray(0, idx), replacement, body.subarray(end)]));
    }
  }
  assert.equal(sh(`"${prefix}/bin/python" -c "import numpy; print(numpy.__version__)"`).trim(), "1.26.4");
  assert.equal(sh(`"${prefix}/bin/hello-prefix"`).trim(), prefix);
  assert.equal(sh(`"${prefix}/bin/f2py"`).trim(), "f2py from numpy 1.26.4");
  assert.equal(sh(`cat "${prefix}/share/linkdemo/current.txt"`), "linkdemo data\n");
  if (!universe.hasCompiler) return t.skip("no C compiler (cc) on PATH: the binary-placeholder package prefix-bin is not built");
  assert.equal(sh(`"${prefix}/bin/prefix-bin"`).trim(), `${prefix}/share/prefix-bin/data`);
});

test("without a compiler the universe says so and leaves out prefix-bin", async () => {
  const u = await buildUniverse(tempDir(), { compiler: false });
  assert.equal(u.hasCompiler, false);
  assert.ok(!u.packages.some((p) => p.name === "prefix-bin"));
});
