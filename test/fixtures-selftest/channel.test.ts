import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decompress } from "zstd-napi";
import { basicAuth, buildChannel, serveChannels } from "../fixtures/channel.ts";
import type { Repodata } from "../fixtures/channel.ts";
import { buildPackage } from "../fixtures/conda-package.ts";
import type { PackageDef } from "../fixtures/conda-package.ts";
import { digests, run, tempDir } from "./helpers.ts";

const tmp = tempDir();
const def = (name: string, version: string, subdir = "linux-64"): PackageDef => ({ name, version, subdir, timestamp: Date.UTC(2024, 0, 1), files: [{ path: `share/${name}.txt`, content: `${name} ${version}\n` }] });
const repodata = (dir: string, subdir: string): Repodata => JSON.parse(readFileSync(join(dir, subdir, "repodata.json"), "utf8")) as Repodata;

test("buildChannel: repodata per subdir, .tar.bz2 under packages, .conda under packages.conda, digests match the files", async () => {
  const dir = join(tmp, "ch1");
  const prebuilt = await buildPackage(def("b", "2.0"), join(tmp, "elsewhere"), "conda");
  const records = await buildChannel(dir, [def("a", "1.0"), prebuilt, def("n", "1.0", "noarch")], { subdirs: ["osx-arm64"], zst: true, bz2: true });
  assert.deepEqual(records.map((r) => `${r.subdir}/${r.filename}`).sort(), [`linux-64/${prebuilt.filename}`, "linux-64/a-1.0-" + records.find((r) => r.record.name === "a")?.record.build + ".tar.bz2", "noarch/n-1.0-" + records.find((r) => r.record.name === "n")?.record.build + ".tar.bz2"].sort());
  const linux = repodata(dir, "linux-64");
  assert.deepEqual(Object.keys(linux), ["info", "packages", "packages.conda", "removed", "repodata_version"]);
  assert.deepEqual(linux.info, { subdir: "linux-64" });
  assert.equal(linux.repodata_version, 1);
  assert.deepEqual(Object.keys(linux["packages.conda"]), [prebuilt.filename]);
  for (const r of records) {
    const d = digests(join(dir, r.subdir, r.filename));
    assert.deepEqual({ sha256: r.record.sha256, md5: r.record.md5, size: r.record.size }, d, r.filename);
  }
  assert.deepEqual(repodata(dir, "osx-arm64"), { info: { subdir: "osx-arm64" }, packages: {}, "packages.conda": {}, removed: [], repodata_version: 1 });
  const plain = readFileSync(join(dir, "linux-64/repodata.json"));
  assert.deepEqual(decompress(readFileSync(join(dir, "linux-64/repodata.json.zst"))), plain);
  assert.deepEqual(run("bzip2", ["-dc", join(dir, "linux-64/repodata.json.bz2")]).stdout, plain);
  // A second call merges: publishing a new version keeps the old one.
  await buildChannel(dir, [def("a", "1.1")]);
  assert.deepEqual(Object.values(repodata(dir, "linux-64").packages).map((r) => r.version).sort(), ["1.0", "1.1"]);
});

test("serveChannels: Content-Length, ETag, Last-Modified, 304 on If-None-Match / If-Modified-Since, 404, requests recorded", async (t) => {
  const dir = join(tmp, "ch2");
  await buildChannel(dir, [def("a", "1.0")]);
  const server = await serveChannels(dir);
  t.after(() => server.close());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const url = `${server.url}/linux-64/repodata.json`;
  const r1 = await fetch(url);
  assert.equal(r1.status, 200);
  const body = Buffer.from(await r1.arrayBuffer());
  assert.deepEqual(body, readFileSync(join(dir, "linux-64/repodata.json")));
  assert.equal(r1.headers.get("content-length"), String(body.length));
  assert.equal(r1.headers.get("content-type"), "application/json");
  const etag = r1.headers.get("etag") ?? "";
  const lastModified = r1.headers.get("last-modified") ?? "";
  assert.match(etag, /^"[0-9a-f-]+"$/);
  assert.equal((await fetch(url, { headers: { "If-None-Match": etag } })).status, 304);
  assert.equal((await fetch(url, { headers: { "If-Modified-Since": lastModified } })).status, 304);
  assert.equal((await fetch(url, { headers: { "If-None-Match": '"stale"' } })).status, 200);
  assert.equal((await fetch(`${server.url}/linux-64/missing.conda`)).status, 404);
  assert.equal((await fetch(`${server.url}/../../etc/passwd`)).status, 404);
  // Republishing changes the validators.
  await buildChannel(dir, [def("a", "1.1")]);
  const r2 = await fetch(url, { headers: { "If-None-Match": etag } });
  assert.equal(r2.status, 200);
  assert.notEqual(r2.headers.get("etag"), etag);
  assert.deepEqual(server.requests.slice(0, 2).map((r) => [r.method, r.url, r.headers["if-none-match"]]), [["GET", "/linux-64/repodata.json", undefined], ["GET", "/linux-64/repodata.json", etag]]);
});

test("serveChannels hooks: fail N times, truncate, hang, Authorization, /t/<token>/", async (t) => {
  const dir = join(tmp, "ch3");
  await buildChannel(dir, [def("a", "1.0")]);
  const server = await serveChannels(dir, { hooks: [{ match: "/linux-64/repodata.json", hook: { kind: "fail", status: 503, times: 2 } }] });
  t.after(() => server.close());
  const url = `${server.url}/linux-64/repodata.json`;
  assert.deepEqual([(await fetch(url)).status, (await fetch(url)).status, (await fetch(url)).status], [503, 503, 200]);

  server.hook(/\.json$/, { kind: "truncate", bytes: 10 });
  await assert.rejects(fetch(`${server.url}/noarch/repodata.json`).then((r) => r.arrayBuffer()));
  server.clearHooks();

  server.hook("/noarch/", { kind: "hang" });
  await assert.rejects(fetch(`${server.url}/noarch/repodata.json`, { signal: AbortSignal.timeout(200) }), /abort|timeout/i);
  server.clearHooks();

  server.hook("/linux-64/", { kind: "auth", authorization: basicAuth("user", "secret") });
  const denied = await fetch(url);
  assert.equal(denied.status, 401);
  assert.match(denied.headers.get("www-authenticate") ?? "", /^Basic /);
  assert.equal((await fetch(url, { headers: { Authorization: basicAuth("user", "wrong") } })).status, 401);
  assert.equal((await fetch(url, { headers: { Authorization: basicAuth("user", "secret") } })).status, 200);
  server.clearHooks();

  server.hook("/", { kind: "token", token: "tk-123" });
  assert.equal((await fetch(url)).status, 401);
  assert.equal((await fetch(`${server.url}/t/other/linux-64/repodata.json`)).status, 401);
  assert.equal((await fetch(`${server.url}/t/tk-123/linux-64/repodata.json`)).status, 200);
  assert.ok(server.requests.some((r) => r.url === "/t/tk-123/linux-64/repodata.json"));
});
