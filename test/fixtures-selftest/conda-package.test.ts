import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { BINARY_PLACEHOLDER, buildPackage, TEXT_PLACEHOLDER } from "../fixtures/conda-package.ts";
import type { PackageDef } from "../fixtures/conda-package.ts";
import { digests, extract, run, sh, tempDir } from "./helpers.ts";

const tmp = tempDir();
const DEF: PackageDef = {
  name: "demo",
  version: "1.2.3",
  buildNumber: 2,
  subdir: "linux-64",
  depends: ["python >=3.8", "libzlib >=1.2.13,<2.0a0"],
  constrains: ["demo-extras 1.2.3"],
  license: "MIT",
  timestamp: Date.UTC(2023, 5, 1, 12),
  trackFeatures: "demo_feature",
  files: [
    { path: "bin/demo", content: `#!/bin/sh\necho "${TEXT_PLACEHOLDER}/share/demo"\n`, prefixPlaceholder: true },
    { path: "lib/demo.bin", content: Buffer.concat([Buffer.from("\0\x7fELF"), Buffer.from(`${BINARY_PLACEHOLDER}/lib\0`)]), prefixPlaceholder: { mode: "binary" } },
    { path: "share/demo/data.txt", content: "data\n" },
    { path: "etc/demo.conf", content: "a = 1\n", noLink: true },
  ],
  softlinks: [{ path: "share/demo/current.txt", target: "data.txt" }],
  postLink: 'echo "linked" >> "$PREFIX/.messages.txt"\n',
};

test("placeholders: the classic 32-char text one, a 255-char binary one", () => {
  assert.equal(TEXT_PLACEHOLDER.length, 32);
  assert.equal(BINARY_PLACEHOLDER.length, 255);
});

test(".tar.bz2: a real bzip2 tar, info/index.json first, metadata conda understands", async () => {
  const built = await buildPackage(DEF, join(tmp, "bz2"), "tar.bz2");
  assert.match(built.filename, /^demo-1\.2\.3-h[0-9a-f]{7}_2\.tar\.bz2$/);
  assert.deepEqual(digests(built.path), { sha256: built.sha256, md5: built.md5, size: built.size });
  const names = run("tar", ["-tjf", built.path]).stdout.toString().trim().split("\n");
  assert.equal(names[0], "info/index.json");
  assert.ok(names.indexOf("info/paths.json") < names.indexOf("bin/demo"), "info/ comes before the payload");
  assert.deepEqual(names.filter((n) => !n.startsWith("info/")).sort(), ["bin/.demo-post-link.sh", "bin/demo", "etc/demo.conf", "lib/demo.bin", "share/demo/current.txt", "share/demo/data.txt"]);

  const dest = join(tmp, "bz2-x");
  extract(built.path, dest);
  const index = JSON.parse(readFileSync(join(dest, "info/index.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(index, { arch: "x86_64", build: built.record.build, build_number: 2, constrains: ["demo-extras 1.2.3"], depends: DEF.depends, license: "MIT", name: "demo", platform: "linux", subdir: "linux-64", timestamp: DEF.timestamp, track_features: "demo_feature", version: "1.2.3" });
  const paths = (JSON.parse(readFileSync(join(dest, "info/paths.json"), "utf8")) as { paths: Record<string, unknown>[]; paths_version: number });
  assert.equal(paths.paths_version, 1);
  for (const p of paths.paths) {
    const d = digests(join(dest, String(p._path)));
    assert.equal(p.sha256, d.sha256, String(p._path));
    assert.equal(p.size_in_bytes, d.size, String(p._path));
  }
  const digestsOf = (f: string): { sha256: string; size_in_bytes: number } => ({ sha256: digests(f).sha256, size_in_bytes: digests(f).size });
  const byPath = new Map(paths.paths.map((p) => [p._path, p]));
  assert.deepEqual(byPath.get("bin/demo"), { _path: "bin/demo", file_mode: "text", path_type: "hardlink", prefix_placeholder: TEXT_PLACEHOLDER, ...digestsOf(join(dest, "bin/demo")) });
  assert.equal(byPath.get("lib/demo.bin")?.file_mode, "binary");
  assert.equal(byPath.get("etc/demo.conf")?.no_link, true);
  assert.equal(byPath.get("share/demo/current.txt")?.path_type, "softlink");
  assert.equal(readlinkSync(join(dest, "share/demo/current.txt")), "data.txt");
  assert.equal(readFileSync(join(dest, "info/has_prefix"), "utf8"), `${TEXT_PLACEHOLDER} text bin/demo\n${BINARY_PLACEHOLDER} binary lib/demo.bin\n`);
  assert.equal(readFileSync(join(dest, "info/files"), "utf8").trim().split("\n").length, 6);
  assert.match(sh(`ls -l "${dest}/bin/demo"`), /^-rwxr-xr-x/);
  assert.equal(built.record.md5, built.md5);
  assert.equal(built.record.subdir, "linux-64");
});

test(".conda: a STORED zip with metadata.json and zstd tars that the zstd CLI reads", async () => {
  const built = await buildPackage(DEF, join(tmp, "conda"), "conda");
  const stem = built.filename.replace(/\.conda$/, "");
  const listing = run("python3", ["-c", "import sys, zipfile; [print(i.filename, i.compress_type) for i in zipfile.ZipFile(sys.argv[1]).infolist()]", built.path]).stdout.toString();
  assert.equal(listing, `metadata.json 0\npkg-${stem}.tar.zst 0\ninfo-${stem}.tar.zst 0\n`);
  const x = join(tmp, "conda-zip");
  run("python3", ["-m", "zipfile", "-e", built.path, x]);
  assert.deepEqual(JSON.parse(readFileSync(join(x, "metadata.json"), "utf8")), { conda_pkg_format_version: 2 });
  const info = run("sh", ["-ec", `zstd -qdc "${x}/info-${stem}.tar.zst" | tar -t`]).stdout.toString().trim().split("\n");
  assert.deepEqual(info, ["info/index.json", "info/paths.json", "info/files", "info/about.json", "info/has_prefix"]);
  const pkg = run("sh", ["-ec", `zstd -qdc "${x}/pkg-${stem}.tar.zst" | tar -t`]).stdout.toString().trim().split("\n");
  assert.ok(pkg.every((n) => !n.startsWith("info/")) && pkg.includes("bin/demo"));
  // Same payload as the .tar.bz2.
  const a = join(tmp, "cmp-a");
  const b = join(tmp, "cmp-b");
  extract(built.path, a);
  extract((await buildPackage(DEF, join(tmp, "cmp"), "tar.bz2")).path, b);
  assert.equal(sh(`cd "${a}" && find . -type f | sort | xargs sha256sum`), sh(`cd "${b}" && find . -type f | sort | xargs sha256sum`));
});

test("same input, same bytes", async () => {
  for (const format of ["tar.bz2", "conda"] as const) {
    const one = await buildPackage(DEF, join(tmp, "det1"), format);
    const two = await buildPackage(DEF, join(tmp, "det2"), format);
    assert.equal(one.sha256, two.sha256, format);
  }
});

test("noarch: python writes link.json with entry points and null arch/platform", async () => {
  const def: PackageDef = { name: "tool", version: "1.0", subdir: "noarch", noarch: "python", depends: ["python >=3.8"], entryPoints: ["tool = tool.cli:main"], files: [{ path: "site-packages/tool/__init__.py", content: "" }] };
  const built = await buildPackage(def, join(tmp, "noarch"), "tar.bz2");
  assert.match(built.record.build, /^pyh[0-9a-f]{7}_0$/);
  assert.equal(built.record.noarch, "python");
  assert.equal(built.record.arch, undefined);
  const dest = join(tmp, "noarch-x");
  extract(built.path, dest);
  assert.deepEqual(JSON.parse(readFileSync(join(dest, "info/link.json"), "utf8")), { noarch: { entry_points: ["tool = tool.cli:main"], type: "python" }, package_metadata_version: 1 });
  const index = JSON.parse(readFileSync(join(dest, "info/index.json"), "utf8")) as Record<string, unknown>;
  assert.equal(index.arch, null);
  assert.equal(index.platform, null);
});

test("definitions that would make a broken package are refused", async () => {
  await assert.rejects(buildPackage({ name: "x", version: "1", subdir: "noarch", files: [{ path: "../x", content: "" }] }, join(tmp, "bad"), "conda"), /must be relative/);
  await assert.rejects(buildPackage({ name: "x", version: "1", subdir: "noarch", files: [{ path: "a", content: "no prefix", prefixPlaceholder: true }] }, join(tmp, "bad"), "conda"), /does not contain/);
});
