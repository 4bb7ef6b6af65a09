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

// --- S3 storage -----------------------------------------------------------------------------------

const SECRET = "wJalr-S3CRET-KEY/xyz+1";
const TOKEN = "IQoJ-SESSION-TOKEN-abc";

/** The error, with its message and hint, never shows a secret. */
function noSecret(e: unknown): boolean {
  const text = e instanceof InputError ? `${e.message} ${e.hint ?? ""} ${JSON.stringify(e)}` : String(e);
  assert.ok(!text.includes(SECRET) && !text.includes(TOKEN), `a secret leaked: ${text}`);
  return true;
}

test("storage kind s3: keys, defaults and the normalised endpoint and prefix", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "secret"), `${SECRET}\n`);
  await writeFile(
    join(cwd, "condaops.config.yaml"),
    [
      "storage:",
      "  kind: s3",
      "  endpoint: https://minio.internal:9000/",
      "  public_endpoint: https://downloads.example.org",
      "  bucket: condaops.artifacts",
      "  prefix: /ci/main/",
      "  access_key_id_env: MY_KEY",
      "  secret_access_key_file: secret",
      "  session_token_env: MY_TOKEN",
      "  path_style: false",
      "  create_bucket: true",
      "  part_size: 16777216",
    ].join("\n") + "\n",
  );
  const c = await loadConfig({ cwd, env: { MY_KEY: "AKIDEXAMPLE", MY_TOKEN: TOKEN, AWS_ACCESS_KEY_ID: "ignored", AWS_SECRET_ACCESS_KEY: "ignored" } });
  assert.deepEqual(c.storage, {
    kind: "s3",
    endpoint: "https://minio.internal:9000",
    publicEndpoint: "https://downloads.example.org",
    bucket: "condaops.artifacts",
    region: "us-east-1",
    prefix: "ci/main",
    accessKey: "AKIDEXAMPLE",
    secretKey: SECRET,
    sessionToken: TOKEN,
    pathStyle: false,
    createBucket: true,
    partSize: 16 * 1024 * 1024,
  });

  await writeFile(join(cwd, "min.yaml"), "storage: {kind: s3, endpoint: 'http://127.0.0.1:9000', bucket: b-1, access_key_id: K, secret_access_key: S}\n");
  assert.deepEqual(await loadConfig({ cwd, env: {}, file: "min.yaml" }).then((x) => x.storage), {
    kind: "s3",
    endpoint: "http://127.0.0.1:9000",
    bucket: "b-1",
    region: "us-east-1",
    prefix: "",
    accessKey: "K",
    secretKey: "S",
    pathStyle: true,
    createBucket: false,
    partSize: 64 * 1024 * 1024,
  });
});

test("storage kind s3 without configured keys uses AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; none is anonymous", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "condaops.config.yaml"), "storage: {kind: s3, endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: my-bucket, region: eu-west-1}\n");
  const c = await loadConfig({ cwd, env: { AWS_ACCESS_KEY_ID: "AKIA1", AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN } });
  assert.equal(c.storage.kind, "s3");
  if (c.storage.kind !== "s3") return;
  assert.equal(c.storage.region, "eu-west-1");
  assert.deepEqual([c.storage.accessKey, c.storage.secretKey, c.storage.sessionToken], ["AKIA1", SECRET, TOKEN]);

  const anonymous = await loadConfig({ cwd, env: {} });
  assert.ok(anonymous.storage.kind === "s3" && anonymous.storage.accessKey === undefined && anonymous.storage.secretKey === undefined && anonymous.storage.sessionToken === undefined);

  await assert.rejects(loadConfig({ cwd, env: { AWS_ACCESS_KEY_ID: "AKIA1" } }), (e) => e instanceof InputError && /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/.test(e.message));
  await assert.rejects(loadConfig({ cwd, env: { AWS_SECRET_ACCESS_KEY: SECRET } }), (e) => e instanceof InputError && /AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not/.test(e.message) && noSecret(e));
  // With local storage the AWS variables are none of condaops' business.
  await writeFile(join(cwd, "local.yaml"), "storage: {path: blobs}\n");
  assert.equal((await loadConfig({ cwd, env: { AWS_SECRET_ACCESS_KEY: SECRET }, file: "local.yaml" })).storage.kind, "local");
});

test("storage secrets: a missing variable or file is named, a half pair refused, no secret value ever echoed", async (t) => {
  const cwd = await tempDir(t);
  const base = "storage:\n  kind: s3\n  endpoint: https://s3.example.org\n  bucket: bkt\n";
  await writeFile(join(cwd, "env.yaml"), `${base}  access_key_id: K\n  secret_access_key_env: S3_SECRET\n`);
  await assert.rejects(loadConfig({ cwd, env: {}, file: "env.yaml" }), (e) => e instanceof InputError && e.code === "config.secret" && /S3_SECRET is not set/.test(e.message) && /secret_access_key_env/.test(e.hint ?? ""));
  await writeFile(join(cwd, "file.yaml"), `${base}  access_key_id: K\n  secret_access_key_file: nope/secret\n`);
  await assert.rejects(loadConfig({ cwd, env: {}, file: "file.yaml" }), (e) => e instanceof InputError && /cannot read the storage\.secret_access_key file nope\/secret/.test(e.message));
  await writeFile(join(cwd, "half.yaml"), `${base}  secret_access_key_env: S3_SECRET\n`);
  await assert.rejects(loadConfig({ cwd, env: { S3_SECRET: SECRET }, file: "half.yaml" }), (e) => e instanceof InputError && /no access key ID/.test(e.message) && noSecret(e));
  await writeFile(join(cwd, "token.yaml"), `${base}  session_token_env: S3_TOKEN\n`);
  await assert.rejects(loadConfig({ cwd, env: { S3_TOKEN: TOKEN }, file: "token.yaml" }), (e) => e instanceof InputError && /session_token_env is set but there are no keys/.test(e.message) && noSecret(e));
  // Credentials in the endpoint URL: refused, and not repeated back.
  await writeFile(join(cwd, "userinfo.yaml"), `storage: {kind: s3, bucket: bkt, endpoint: 'https://AKIA:${SECRET}@s3.example.org'}\n`);
  await assert.rejects(loadConfig({ cwd, env: {}, file: "userinfo.yaml" }), (e) => e instanceof InputError && /storage\.endpoint must not hold credentials/.test(e.message) && noSecret(e));
  await assert.rejects(
    loadConfig({ cwd, env: { CONDAOPS_STORAGE_KIND: "s3", CONDAOPS_STORAGE_BUCKET: "bkt", CONDAOPS_STORAGE_ENDPOINT: `https://AKIA:${SECRET}@s3.example.org/x` } }),
    (e) => e instanceof InputError && /storage\.endpoint/.test(e.message) && noSecret(e),
  );
});

test("storage kind s3: missing endpoint or bucket, bad bucket names, endpoints and part sizes are refused naming the key", async (t) => {
  const cwd = await tempDir(t);
  const load = async (yaml: string, env: NodeJS.ProcessEnv = {}): Promise<unknown> => {
    await writeFile(join(cwd, "c.yaml"), yaml);
    return loadConfig({ cwd, env, file: "c.yaml" });
  };
  await assert.rejects(load("storage: {kind: s3, bucket: bkt}\n"), (e) => e instanceof InputError && e.code === "config.invalid" && /storage\.endpoint is not set/.test(e.message) && /e\.g\. https:\/\//.test(e.hint ?? ""));
  await assert.rejects(load("storage: {kind: s3, endpoint: 'https://s3.example.org'}\n"), (e) => e instanceof InputError && e.code === "config.invalid" && /storage\.bucket is not set/.test(e.message) && e.hint !== undefined);
  for (const bucket of ["Caps", "ab", "a_b", "-lead", "trail-", "a..b", "192.168.1.1", "x".repeat(64), "xn--punycode"]) {
    await assert.rejects(load(`storage: {kind: s3, endpoint: 'https://s3.example.org', bucket: '${bucket}'}\n`), (e) => e instanceof InputError && /c\.yaml:1:\d+: "storage\.bucket" is /.test(e.message), bucket);
  }
  for (const ok of ["abc", "my.bucket-1", "a".repeat(63)]) {
    await load(`storage: {kind: s3, endpoint: 'https://s3.example.org', bucket: '${ok}'}\n`);
  }
  for (const endpoint of ["s3.example.org", "ftp://s3.example.org", "https://s3.example.org/path", "https://s3.example.org?x=1", "https://"]) {
    await assert.rejects(load(`storage: {kind: s3, bucket: bkt, endpoint: '${endpoint}'}\n`), (e) => e instanceof InputError && /storage\.endpoint/.test(e.message), endpoint);
  }
  await assert.rejects(load("storage: {kind: s3, bucket: bkt, endpoint: 'https://h', public_endpoint: 'https://h/p'}\n"), (e) => e instanceof InputError && /storage\.public_endpoint/.test(e.message));
  await assert.rejects(load("storage: {kind: s3, bucket: bkt, endpoint: 'https://h', part_size: 1048576}\n"), (e) => e instanceof InputError && /"storage\.part_size" must be at least 5242880/.test(e.message));
  await assert.rejects(load("storage: {kind: s3, bucket: bkt, endpoint: 'https://h', prefix: 'a/../b'}\n"), (e) => e instanceof InputError && /storage\.prefix/.test(e.message) && /"\.\." segment/.test(e.message));
  await assert.rejects(load("storage: {kind: s3, bucket: bkt, endpoint: 'https://h', region: 'us east'}\n"), (e) => e instanceof InputError && /"storage\.region"/.test(e.message));
  await assert.rejects(load("storage: {kind: gcs}\n"), (e) => e instanceof InputError && /"storage\.kind" must be one of: "local", "s3"/.test(e.message));
  // Through variables, the variable's key is named too.
  await assert.rejects(load("{}\n", { CONDAOPS_STORAGE_KIND: "s3", CONDAOPS_STORAGE_ENDPOINT: "https://h", CONDAOPS_STORAGE_BUCKET: "Bad_Name" }), (e) => e instanceof InputError && /"storage\.bucket" is "Bad_Name"/.test(e.message));
});

test("S3 settings without kind: s3 are an error pointing at kind; with kind: local they are ignored with a warning", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "c.yaml"), "storage: {bucket: bkt, endpoint: 'https://h'}\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "c.yaml" }), (e) => e instanceof InputError && /storage\.endpoint is set but storage\.kind is not s3/.test(e.message) && /kind: s3/.test(e.hint ?? ""));
  await writeFile(join(cwd, "l.yaml"), "storage: {kind: local, bucket: bkt, path: blobs}\n");
  const warnings: string[] = [];
  const c = await loadConfig({ cwd, env: {}, file: "l.yaml", warn: (m) => warnings.push(m) });
  assert.deepEqual(c.storage, { kind: "local", path: join(cwd, "blobs") });
  assert.deepEqual(warnings, ["warning: storage.kind is local: storage.bucket ignored"]);
});

test("CONDAOPS_STORAGE_* variables switch storage to S3 and set every key", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "condaops.config.yaml"), "storage: {path: blobs}\n");
  const warnings: string[] = [];
  const c = await loadConfig({
    cwd,
    warn: (m) => warnings.push(m),
    env: {
      CONDAOPS_STORAGE_KIND: "s3",
      CONDAOPS_STORAGE_ENDPOINT: "http://127.0.0.1:9000",
      CONDAOPS_STORAGE_PUBLIC_ENDPOINT: "https://files.example.org",
      CONDAOPS_STORAGE_BUCKET: "artifacts",
      CONDAOPS_STORAGE_REGION: "home",
      CONDAOPS_STORAGE_PREFIX: "lab",
      CONDAOPS_STORAGE_ACCESS_KEY_ID: "minioadmin",
      CONDAOPS_STORAGE_SECRET_ACCESS_KEY_ENV: "MINIO_SECRET",
      MINIO_SECRET: SECRET,
      CONDAOPS_STORAGE_PATH_STYLE: "no",
      CONDAOPS_STORAGE_CREATE_BUCKET: "yes",
      CONDAOPS_STORAGE_PART_SIZE: "5242880",
    },
  });
  assert.deepEqual(c.storage, {
    kind: "s3",
    endpoint: "http://127.0.0.1:9000",
    publicEndpoint: "https://files.example.org",
    bucket: "artifacts",
    region: "home",
    prefix: "lab",
    accessKey: "minioadmin",
    secretKey: SECRET,
    pathStyle: false,
    createBucket: true,
    partSize: 5 * 1024 * 1024,
  });
  assert.deepEqual(warnings, ["warning: storage.kind is s3: storage.path ignored"]);
  await assert.rejects(loadConfig({ cwd, env: { CONDAOPS_STORAGE_KIND: "s3", CONDAOPS_STORAGE_BUCKET: "b-b", CONDAOPS_STORAGE_ENDPOINT: "https://h", CONDAOPS_STORAGE_PART_SIZE: "big" } }), /CONDAOPS_STORAGE_PART_SIZE must be a number/);
});

// --- build.min_free_space -------------------------------------------------------------------------

test("build.min_free_space: bytes or a size with binary or decimal units; 0 turns it off; default 5 GiB", async (t) => {
  const cwd = await tempDir(t);
  const GiB = 1024 ** 3;
  const cases: [string, number][] = [
    ["1073741824", GiB],
    ["'5GiB'", 5 * GiB],
    ["'5 GiB'", 5 * GiB],
    ["'500MB'", 500_000_000],
    ["'500mb'", 500_000_000],
    ["'1.5G'", 1.5 * GiB],
    ["'2Ti'", 2 * 1024 ** 4],
    ["'10KB'", 10_000],
    ["'10KiB'", 10_240],
    ["'123B'", 123],
    ["'0'", 0],
    ["0", 0],
  ];
  for (const [yaml, bytes] of cases) {
    await writeFile(join(cwd, "c.yaml"), `build: {min_free_space: ${yaml}}\n`);
    assert.equal((await loadConfig({ cwd, env: {}, file: "c.yaml" })).build.minFreeSpace, bytes, yaml);
  }
  assert.equal((await loadConfig({ cwd, env: {} })).build.minFreeSpace, 5 * GiB);
  for (const bad of ["'5 gigs'", "'-1'", "-1", "'GiB'", "'1e3'", "1.5", "'5GiBs'", "''", "true"]) {
    await writeFile(join(cwd, "c.yaml"), `build: {min_free_space: ${bad}}\n`);
    await assert.rejects(loadConfig({ cwd, env: {}, file: "c.yaml" }), (e) => e instanceof InputError && /c\.yaml:1:\d+: "build\.min_free_space"/.test(e.message), bad);
  }
  await writeFile(join(cwd, "c.yaml"), "build: {min_free_space: '99999999999PiB'}\n");
  await assert.rejects(loadConfig({ cwd, env: {}, file: "c.yaml" }), (e) => e instanceof InputError && /build\.min_free_space is "99999999999PiB", which is not a size in bytes/.test(e.message));
  // From a variable: a number or a size.
  assert.equal((await loadConfig({ cwd, env: { CONDAOPS_BUILD_MIN_FREE_SPACE: "500MB" } })).build.minFreeSpace, 500_000_000);
  assert.equal((await loadConfig({ cwd, env: { CONDAOPS_BUILD_MIN_FREE_SPACE: "0" } })).build.minFreeSpace, 0);
  assert.equal((await loadConfig({ cwd, env: { CONDAOPS_BUILD_MIN_FREE_SPACE: "4096" } })).build.minFreeSpace, 4096);
  await assert.rejects(loadConfig({ cwd, env: { CONDAOPS_BUILD_MIN_FREE_SPACE: "lots" } }), (e) => e instanceof InputError && /build\.min_free_space/.test(e.message));
});

// --- oci --------------------------------------------------------------------------------------------

test("oci: base (a local layout resolved against the current folder, or a registry reference), push, insecure registries, credentials", async (t) => {
  const cwd = await tempDir(t);
  await writeFile(join(cwd, "ghcr-token"), "ghp_fromfile\n");
  await writeFile(
    join(cwd, "condaops.config.yaml"),
    [
      "oci:",
      "  base: oci-layout:images/debian:12-slim",
      "  push: registry.example.org:5000/condaops/",
      "  insecure_registries: [127.0.0.1:5000, LOCALHOST:5001]",
      "  credentials:",
      "    - {host: ghcr.io, username: bot, password_file: ghcr-token}",
      "    - {host: 'registry.example.org:5000', username: ci, password_env: REG_PW}",
    ].join("\n") + "\n",
  );
  const c = await loadConfig({ cwd, env: { REG_PW: SECRET } });
  assert.deepEqual(c.oci, {
    base: `oci-layout:${join(cwd, "images/debian")}:12-slim`,
    push: "registry.example.org:5000/condaops",
    insecureRegistries: ["127.0.0.1:5000", "localhost:5001"],
    credentials: [
      { host: "ghcr.io", username: "bot", password: "ghp_fromfile" },
      { host: "registry.example.org:5000", username: "ci", password: SECRET },
    ],
  });
  await writeFile(join(cwd, "none.yaml"), "{}\n");
  assert.deepEqual((await loadConfig({ cwd, env: {}, file: "none.yaml" })).oci, { credentials: [], insecureRegistries: [] });

  const base = async (ref: string): Promise<string | undefined> => {
    await writeFile(join(cwd, "b.yaml"), `oci: {base: '${ref}'}\n`);
    return (await loadConfig({ cwd, env: {}, file: "b.yaml" })).oci.base;
  };
  assert.equal(await base("oci-layout:/srv/images/base"), "oci-layout:/srv/images/base");
  assert.equal(await base("oci-layout:./base:latest"), `oci-layout:${join(cwd, "base")}:latest`);
  assert.equal(await base("docker.io/library/debian:12-slim"), "docker.io/library/debian:12-slim");
  assert.equal(await base("localhost:5000/base@sha256:" + "a".repeat(64)), "localhost:5000/base@sha256:" + "a".repeat(64));
  assert.equal(await base("registry:5000/team/base"), "registry:5000/team/base");
});

test("oci: malformed references, hosts and duplicate credentials are refused naming the key; a missing password variable is named", async (t) => {
  const cwd = await tempDir(t);
  const load = async (yaml: string, env: NodeJS.ProcessEnv = {}): Promise<unknown> => {
    await writeFile(join(cwd, "c.yaml"), yaml);
    return loadConfig({ cwd, env, file: "c.yaml" });
  };
  for (const ref of ["debian:12", "debian", "Docker.io/Library/Debian", "ghcr.io/x/y@sha256:abc", "ghcr.io/x/y:bad tag", "oci-layout:", "https://ghcr.io/x/y"]) {
    await assert.rejects(load(`oci: {base: '${ref}'}\n`), (e) => e instanceof InputError && /"oci\.base"|oci\.base/.test(e.message), ref);
  }
  for (const push of ["ghcr.io/x/y:tag", "ghcr.io", "condaops", "ghcr.io/x@sha256:" + "a".repeat(64)]) {
    await assert.rejects(load(`oci: {push: '${push}'}\n`), (e) => e instanceof InputError && /"oci\.push"/.test(e.message), push);
  }
  await assert.rejects(load("oci: {insecure_registries: ['http://localhost:5000']}\n"), (e) => e instanceof InputError && /"oci\.insecure_registries\[0\]"/.test(e.message));
  await assert.rejects(load("oci: {credentials: [{username: u}]}\n"), (e) => e instanceof InputError && /missing the required key "host"/.test(e.message));
  await assert.rejects(load("oci: {credentials: [{host: ghcr.io}, {host: GHCR.io}]}\n"), (e) => e instanceof InputError && /ghcr\.io twice/.test(e.message));
  await assert.rejects(load("oci: {credentials: [{host: ghcr.io, password_env: GH_PW}]}\n"), (e) => e instanceof InputError && e.code === "config.secret" && /GH_PW is not set/.test(e.message));
  await assert.rejects(load("oci: {credentials: [{host: ghcr.io, username: u}]}\n", { CONDAOPS_OCI_CREDENTIALS: "[{\"host\": \"ghcr.io\", \"password\": 1}]" }), (e) => e instanceof InputError && /CONDAOPS_\* variables give an invalid configuration/.test(e.message));
  const c = (await load("{}\n", { CONDAOPS_OCI_BASE: "quay.io/org/base:1", CONDAOPS_OCI_INSECURE_REGISTRIES: '["127.0.0.1:5000"]', CONDAOPS_OCI_CREDENTIALS: '[{"host": "quay.io", "username": "u", "password_env": "Q"}]', Q: SECRET })) as Awaited<ReturnType<typeof loadConfig>>;
  assert.deepEqual(c.oci, { base: "quay.io/org/base:1", insecureRegistries: ["127.0.0.1:5000"], credentials: [{ host: "quay.io", username: "u", password: SECRET }] });
});
