import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLASSIC_PLACEHOLDER, parseHasPrefix, readIndexJson, readLinkJson, readPackagePaths } from "../../../src/builder/install/package-paths.ts";
import { InputError } from "../../../src/errors.ts";

const roots: string[] = [];
after(async () => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

async function pkgDir(info: Record<string, string>, payload: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-paths-"));
  roots.push(dir);
  await mkdir(join(dir, "info"), { recursive: true });
  for (const [name, text] of Object.entries(info)) await writeFile(join(dir, "info", name), text);
  for (const [name, text] of Object.entries(payload)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const inputError = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message);

test("paths.json (paths_version 1) is read into typed entries", async () => {
  const sha = "a".repeat(64);
  const dir = await pkgDir({
    "paths.json": JSON.stringify({
      paths_version: 1,
      paths: [
        { _path: "bin/tool", path_type: "hardlink", sha256: sha, size_in_bytes: 12, prefix_placeholder: "/opt/ph", file_mode: "binary" },
        { _path: "etc/tool.conf", path_type: "hardlink", no_link: true, size_in_bytes: 3 },
        { _path: "lib/libx.so", path_type: "softlink", sha256: sha },
        { _path: "share/empty", path_type: "directory" },
        { _path: "share/a.txt", path_type: "hardlink", prefix_placeholder: "/opt/ph" },
      ],
    }),
  });
  assert.deepEqual(await readPackagePaths(dir), [
    { path: "bin/tool", type: "hardlink", sha256: sha, size: 12, prefixPlaceholder: "/opt/ph", fileMode: "binary" },
    { path: "etc/tool.conf", type: "hardlink", size: 3, noLink: true },
    { path: "lib/libx.so", type: "softlink", sha256: sha },
    { path: "share/empty", type: "directory" },
    { path: "share/a.txt", type: "hardlink", prefixPlaceholder: "/opt/ph", fileMode: "text" },
  ]);
});

test("old packages: info/files + has_prefix (both line forms, quoted paths) + no_link, softlinks found on disk", async () => {
  const dir = await pkgDir(
    {
      files: "bin/a\n\nlib/libz.so\nshare/my file.txt\nlib/libz.so.1\n",
      has_prefix: `bin/a\n"/opt/build/placehold" binary 'share/my file.txt'\n# comment\n`,
      no_link: "lib/libz.so.1\n",
    },
    { "bin/a": "#!/opt/anaconda1anaconda2anaconda3/bin/sh\n", "share/my file.txt": "x", "lib/libz.so.1": "z" },
  );
  await symlink("libz.so.1", join(dir, "lib", "libz.so"));
  assert.deepEqual(await readPackagePaths(dir), [
    { path: "bin/a", type: "hardlink", prefixPlaceholder: CLASSIC_PLACEHOLDER, fileMode: "text" },
    { path: "lib/libz.so", type: "softlink" },
    { path: "share/my file.txt", type: "hardlink", prefixPlaceholder: "/opt/build/placehold", fileMode: "binary" },
    { path: "lib/libz.so.1", type: "hardlink", noLink: true },
  ]);
});

test("has_prefix lines that are neither form are refused", () => {
  assert.throws(() => parseHasPrefix("/ph text\n", "has_prefix"), inputError(/invalid line/));
  assert.throws(() => parseHasPrefix("/ph octal bin/x\n", "has_prefix"), inputError(/invalid line/));
});

test("unsafe and malformed paths are refused with the file named", async () => {
  for (const bad of ["../etc/passwd", "/etc/passwd", "bin/../../x", "a//b", "./a", "C:/x", "a\\..\\..\\x", "\\server\\x"]) {
    const dir = await pkgDir({ "paths.json": JSON.stringify({ paths_version: 1, paths: [{ _path: bad, path_type: "hardlink" }] }) });
    await assert.rejects(readPackagePaths(dir), (e: unknown) => e instanceof InputError && e.code === "package.path" && e.position?.file === join(dir, "info", "paths.json"), bad);
  }
  const old = await pkgDir({ files: "ok\n../escape\n" });
  await assert.rejects(readPackagePaths(old), inputError(/unsafe path "\.\.\/escape"/));
  for (const [content, re] of [
    ["{", /invalid JSON/],
    [JSON.stringify({ paths_version: 2, paths: [] }), /paths_version 2/],
    [JSON.stringify({ paths_version: 1, paths: [{ _path: "a", path_type: "pipe" }] }), /unknown path_type/],
    [JSON.stringify({ paths_version: 1, paths: [{ _path: "a", path_type: "hardlink", sha256: "xyz" }] }), /sha256/],
    [JSON.stringify({ paths_version: 1, paths: [{ _path: "a", path_type: "hardlink", prefix_placeholder: "/p", file_mode: "octal" }] }), /file_mode/],
    [JSON.stringify({ paths_version: 1, paths: [{ _path: "a", path_type: "hardlink" }, { _path: "a", path_type: "hardlink" }] }), /listed twice/],
  ] as const) {
    await assert.rejects(readPackagePaths(await pkgDir({ "paths.json": content })), inputError(re));
  }
  await assert.rejects(readPackagePaths(await pkgDir({})), inputError(/neither info\/paths.json nor info\/files/));
});

test("index.json and link.json are typed; malformed ones refused", async () => {
  const dir = await pkgDir({
    "index.json": JSON.stringify({ name: "requests", version: "2.31.0", build: "pyhd8ed1ab_0", build_number: 0, depends: ["python >=3.8"], noarch: "python", subdir: "noarch", license: "Apache-2.0", track_features: "" }),
    "link.json": JSON.stringify({ noarch: { type: "python", entry_points: ["requests-cli = requests.cli:main"] }, package_metadata_version: 1 }),
  });
  assert.deepEqual(await readIndexJson(dir), { name: "requests", version: "2.31.0", build: "pyhd8ed1ab_0", build_number: 0, depends: ["python >=3.8"], noarch: "python", subdir: "noarch", license: "Apache-2.0", track_features: "" });
  assert.deepEqual(await readLinkJson(dir), { noarch: { type: "python", entry_points: ["requests-cli = requests.cli:main"] }, package_metadata_version: 1 });
  assert.equal(await readLinkJson(await pkgDir({})), undefined);
  await assert.rejects(readIndexJson(await pkgDir({ "index.json": JSON.stringify({ name: "x", version: 1, build: "0" }) })), inputError(/"version" must be a non-empty string/));
  await assert.rejects(readIndexJson(await pkgDir({})), inputError(/missing info\/index.json/));
  await assert.rejects(readLinkJson(await pkgDir({ "link.json": JSON.stringify({ noarch: { type: "python", entry_points: "x = y:z" } }) })), inputError(/entry_points/));
  // old-style noarch python flag
  assert.equal((await readIndexJson(await pkgDir({ "index.json": JSON.stringify({ name: "x", version: "1", build: "0", noarch_python: true }) }))).noarch, "python");
});
