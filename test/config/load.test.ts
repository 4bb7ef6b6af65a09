import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import { InputError, UsageError } from "../../src/errors.ts";

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-config-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("embedded defaults need no file and no server", async (t) => {
  const cwd = await tempDir(t);
  const c = await loadConfig({ cwd, env: {} });
  assert.equal(c.state, join(cwd, ".condaops"));
  assert.equal(c.cacheDir, join(cwd, ".condaops", "cache"));
  assert.equal(c.database.url, undefined);
  assert.equal(c.install.installer, "condaops");
  assert.equal(c.install.linkScripts, false, "link scripts run package code: off by default");
  assert.equal(c.virtualPackages.glibc, "2.28");
  assert.equal(c.source, undefined);
});

test("condaops.config.yaml in the current folder is read; CONDAOPS_* variables override it", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "condaops.config.yaml"), "state: /srv/condaops\ninstall:\n  concurrency: 4\nsolve:\n  virtual_packages:\n    glibc: '2.17'\n");
  const c = await loadConfig({ cwd, env: { CONDAOPS_INSTALL_CONCURRENCY: "12", CONDAOPS_DATABASE_URL: "postgres://db/x", CONDAOPS_CACHE_DIR: "/var/cache/condaops" } });
  assert.equal(c.state, "/srv/condaops");
  assert.equal(c.install.concurrency, 12);
  assert.equal(c.database.url, "postgres://db/x");
  assert.equal(c.cacheDir, "/var/cache/condaops");
  assert.equal(c.virtualPackages.glibc, "2.17");
  assert.equal(c.virtualPackages.osx, "11.0");
});

test("unknown CONDAOPS_* variables are reported, not silently used", async (t) => {
  const cwd = await tempDir(t);
  const warnings: string[] = [];
  await loadConfig({ cwd, env: { CONDAOPS_DATABSE_URL: "x" }, warn: (m) => warnings.push(m) });
  assert.deepEqual(warnings, ["warning: CONDAOPS_DATABSE_URL is not a condaops setting (ignored)"]);
});

test("a bad variable value is rejected with the variable's name", async (t) => {
  const cwd = await tempDir(t);
  await assert.rejects(loadConfig({ cwd, env: { CONDAOPS_INSTALL_CONCURRENCY: "lots" } }), (e) => e instanceof InputError && /CONDAOPS_INSTALL_CONCURRENCY must be a number/.test(e.message));
  await assert.rejects(loadConfig({ cwd, env: { CONDAOPS_INSTALL_CONCURRENCY: "0" } }), InputError);
  await assert.rejects(loadConfig({ cwd, env: { CONDAOPS_INSTALL_LINK_SCRIPTS: "maybe" } }), /true or false/);
});

test("unknown keys and wrong types in the file are errors with line and column", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "c.yaml"), "state: x\ninstal:\n  concurrency: 2\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "c.yaml" }), (e) => e instanceof InputError && /c\.yaml:2:1/.test(e.message) && /instal/.test(e.message));
  await writeFile(join(cwd, "d.yaml"), "database:\n  url: mysql://x\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "d.yaml" }), (e) => e instanceof InputError && /d\.yaml:2:8/.test(e.message));
  await writeFile(join(cwd, "e.yaml"), "- a list\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "e.yaml" }), InputError);
});

test("hostile config YAML is refused", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "dup.yaml"), "state: a\nstate: b\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "dup.yaml" }), (e) => e instanceof InputError && /duplicate key/.test(e.message));
  await writeFile(join(cwd, "bomb.yaml"), 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n');
  await assert.rejects(loadConfig({ cwd, env: {}, file: "bomb.yaml" }), InputError);
});

test("a --config file that does not exist is a usage error", async (t) => {
  const cwd = await tempDir(t);
  await assert.rejects(loadConfig({ cwd, env: {}, file: "nope.yaml" }), UsageError);
});

test("credentials come from variables and files; a missing variable names the variable, never a value", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "pw"), "s3cret-from-file\n");
  await writeFile(
    join(cwd, "condaops.config.yaml"),
    "channels:\n  credentials:\n    - prefix: https://conda.example.com/private/\n      token_env: PRIVATE_TOKEN\n    - prefix: https://mirror.example.com\n      username: bot\n      password_file: pw\n",
  );
  const c = await loadConfig({ cwd, env: { PRIVATE_TOKEN: "tok-123" } });
  assert.deepEqual(c.channelCredentials, [
    { prefix: "https://conda.example.com/private", bearer: false, token: "tok-123" },
    { prefix: "https://mirror.example.com", bearer: false, username: "bot", password: "s3cret-from-file" },
  ]);
  await assert.rejects(loadConfig({ cwd, env: {} }), (e) => e instanceof InputError && /PRIVATE_TOKEN is not set/.test(e.message));
});

test("build permissions, storage and the database URL from a variable; bad values refused without echoing a secret", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "ok.yaml"), "build: {permissions: '0o750', uid: 1000, gid: 1001}\nstorage: {path: blobs}\ndatabase: {url_env: MY_DB}\n");
  const c = await loadConfig({ cwd, env: { MY_DB: "postgres://u:s3cret@db/x" }, file: "ok.yaml" });
  assert.deepEqual(c.build, { permissions: 0o750, uid: 1000, gid: 1001, minFreeSpace: 5 * 1024 ** 3 });
  assert.deepEqual(c.storage, { kind: "local", path: join(cwd, "blobs") });
  assert.equal(c.database.url, "postgres://u:s3cret@db/x");
  await writeFile(join(cwd, "perm.yaml"), "build: {permissions: '999'}\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "perm.yaml" }), (e) => e instanceof InputError && /perm\.yaml:1:22/.test(e.message));
  await writeFile(join(cwd, "uid.yaml"), "build: {uid: -1}\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "uid.yaml" }), InputError);
  await assert.rejects(loadConfig({ cwd, env: {}, file: "ok.yaml" }), (e) => e instanceof InputError && /MY_DB is not set/.test(e.message));
  await assert.rejects(
    loadConfig({ cwd, env: { MY_DB: "mysql://u:s3cret@db/x" }, file: "ok.yaml" }),
    (e) => e instanceof InputError && e.code === "config.database-url" && !e.message.includes("s3cret") && !(e.hint ?? "").includes("s3cret"),
  );
});
