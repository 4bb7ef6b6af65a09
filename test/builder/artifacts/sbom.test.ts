import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Ajv } from "ajv";
import type { ValidateFunction } from "ajv";
import { sbomArtifact, cycloneDxSbom, packagePurl, uuidV5 } from "../../../src/builder/artifacts/sbom.ts";
import { withoutCredentials } from "../../../src/builder/channels/redact.ts";
import { licenseChoice, spdxExpression } from "../../../src/builder/artifacts/spdx.ts";
import type { ArtifactInput } from "../../../src/builder/artifacts/types.ts";
import type { Lock, LockedPackage } from "../../../src/builder/lock/types.ts";
import { CONDAOPS_VERSION } from "../../../src/version.ts";
import { fixtureLock, installFixture } from "../pack/helpers.ts";
import type { FixtureEnv } from "../pack/helpers.ts";
import { effectiveSpec } from "../../support/effective.ts";

const require = createRequire(import.meta.url);
const SCHEMAS = join(dirname(require.resolve("@cyclonedx/cyclonedx-library/package.json")), "res", "schema");

let work: string;
let env: FixtureEnv;
let validate: ValidateFunction;
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const REQUESTED = ["python 3.11.*", "numpy", "requests", "hello-prefix"];

async function schemaJson(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(SCHEMAS, file), "utf8")) as Record<string, unknown>;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "condaops-sbom-"));
  env = await fixtureLock(work, REQUESTED, ["linux-64", "osx-arm64"]);
  // The CycloneDX 1.5 schema is draft-07 and refers to the SPDX and JSF schemas by their
  // SNAPSHOT names. ajv-formats is not installed: the three formats the schema uses are checked
  // by the definitions below (RFC 3339 date-time; IRI reference: no blanks, parses as a URL
  // reference; e-mail: local@domain).
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/);
  ajv.addFormat("iri-reference", (s: string) => {
    if (/\s/.test(s)) return false;
    try {
      new URL(s, "http://base.invalid/");
      return true;
    } catch {
      return false;
    }
  });
  ajv.addFormat("idn-email", /^[^\s@]+@[^\s@]+$/);
  ajv.addSchema({ ...(await schemaJson("spdx.SNAPSHOT.schema.json")), $id: "http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json" });
  ajv.addSchema({ ...(await schemaJson("jsf-0.82.SNAPSHOT.schema.json")), $id: "http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json" });
  validate = ajv.compile(await schemaJson("bom-1.5.SNAPSHOT.schema.json"));
});
after(async () => {
  await env.close();
  await rm(work, { recursive: true, force: true });
});

function assertValid(bom: unknown, what: string): void {
  const ok = validate(bom);
  assert.ok(ok, `${what}: ${JSON.stringify(validate.errors?.slice(0, 5), null, 1)}`);
}

function input(lock: Lock, extra: Partial<ArtifactInput> = {}): ArtifactInput {
  const logs: string[] = [];
  return {
    namespace: "data-science",
    name: "ml",
    commit: COMMIT,
    commitDate: "2024-07-01T10:00:00+02:00",
    effective: effectiveSpec("http://127.0.0.1:1", REQUESTED, { platforms: ["linux-64", "osx-arm64"] }),
    lock,
    repository: "https://github.com/org/envs",
    workDir: join(work, "scratch"),
    cacheDir: env.cacheDir,
    oci: { credentials: [], insecureRegistries: [] },
    log: (l) => logs.push(l),
    ...extra,
  };
}

type Bom = {
  serialNumber: string;
  metadata: { timestamp?: string; tools: { components: { name: string; version: string }[] }; component: { name: string; version: string; "bom-ref": string; properties: { name: string; value: string }[] } };
  components: { name: string; version: string; purl: string; "bom-ref": string; hashes?: { alg: string; content: string }[]; licenses?: unknown[]; externalReferences: { url: string }[] }[];
  dependencies: { ref: string; dependsOn: string[] }[];
};

test("one valid CycloneDX 1.5 SBOM per platform, listing every locked package with licence, purl and hash", async () => {
  const files = await sbomArtifact.make(input(env.lock));
  assert.deepEqual(files.map((f) => [f.kind, f.file, f.platform]), [
    ["sbom", "linux-64.sbom.cdx.json", "linux-64"],
    ["sbom", "osx-arm64.sbom.cdx.json", "osx-arm64"],
  ]);
  for (const f of files) {
    const bom = JSON.parse(f.body as string) as Bom;
    assertValid(bom, f.file);
    const locked = env.lock.packages.filter((p) => p.platform === f.platform);
    assert.deepEqual(bom.components.map((c) => `${c.name}=${c.version}`), locked.map((p) => `${p.name}=${p.version}`));
    for (const c of bom.components) {
      const p = locked.find((x) => x.name === c.name) as LockedPackage;
      assert.ok(c.licenses && c.licenses.length === 1, `${c.name} has a licence`);
      assert.match(c.purl, new RegExp(`^pkg:conda/${c.name}@${c.version.replace(/\./g, "\\.")}\\?build=${p.build}&channel=conda-forge&repository_url=http:%2F%2F127\\.0\\.0\\.1:\\d+%2Fconda-forge&subdir=${p.subdir}&type=(conda|tar\\.bz2)$`));
      assert.deepEqual(c.hashes?.[0], { alg: "SHA-256", content: p.sha256 });
      assert.equal(c.externalReferences[0]?.url, p.url);
    }
    assert.equal(bom.metadata.timestamp, "2024-07-01T08:00:00Z", "the commit's date, in UTC");
    assert.deepEqual(bom.metadata.tools.components.map((t) => [t.name, t.version]), [["condaops", CONDAOPS_VERSION]]);
    assert.equal(bom.metadata.component.name, "data-science/ml");
    assert.equal(bom.metadata.component.version, COMMIT);
    assert.deepEqual(bom.metadata.component.properties.map((p) => p.name), ["condaops:environment-hash", "condaops:spec-hash", "condaops:platform", "condaops:repository"]);
  }
  const linux = JSON.parse(files[0]?.body as string) as Bom;
  const ref = (name: string): string => linux.components.find((c) => c.name === name)?.["bom-ref"] as string;
  const deps = new Map(linux.dependencies.map((d) => [d.ref, d.dependsOn]));
  assert.deepEqual(deps.get(linux.metadata.component["bom-ref"]), ["hello-prefix", "numpy", "python", "requests"].map(ref).sort(), "the environment depends on what it requests");
  assert.ok(deps.get(ref("numpy"))?.includes(ref("python")), "numpy depends on python");
  assert.ok(deps.get(ref("requests"))?.includes(ref("urllib3")));
  assert.deepEqual(deps.get(ref("hello-prefix")), [], "packages without dependencies are in the graph, empty");
  assert.equal(deps.size, linux.components.length + 1);
});

test("the same input gives the same bytes; the serial number follows commit, platform and packages", async () => {
  const a = await sbomArtifact.make(input(env.lock));
  const b = await sbomArtifact.make(input(structuredClone(env.lock)));
  assert.deepEqual(a.map((f) => f.body), b.map((f) => f.body));
  const serial = (body: unknown): string => (JSON.parse(body as string) as Bom).serialNumber;
  assert.notEqual(serial(a[0]?.body), serial(a[1]?.body), "one serial per platform");
  const other = await sbomArtifact.make(input(env.lock, { commit: "f".repeat(40) }));
  assert.notEqual(serial(a[0]?.body), serial(other[0]?.body));
  assert.match(serial(a[0]?.body), /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // RFC 4122 appendix B's example of a v5 UUID (DNS namespace, "www.example.com")
  assert.equal(uuidV5("www.example.com", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  // Without a commit date, the lock's as-of date (then the newest package) is the timestamp.
  const asOf = { ...env.lock, metadata: { ...env.lock.metadata, "condaops.as-of": "2024-05-01T00:00:00.000Z" } };
  assert.equal((JSON.parse((await sbomArtifact.make(input(asOf, { commitDate: "" })))[0]?.body as string) as Bom).metadata.timestamp, "2024-05-01T00:00:00Z");
  const newest = new Date(Math.max(...env.lock.packages.map((p) => p.timestamp ?? 0))).toISOString().replace(".000Z", "Z");
  assert.equal((JSON.parse((await sbomArtifact.make(input(env.lock, { commitDate: "" })))[0]?.body as string) as Bom).metadata.timestamp, newest);
});

test("secrets in channel and package URLs never reach the SBOM", async () => {
  const secret = (url: string): string => url.replace(/^http:\/\/([^/]+)\//, "http://alice:s3cr3t-pass@$1/t/tk-0123456789abcdef/");
  const lock: Lock = { ...env.lock, channels: env.lock.channels.map(secret), packages: env.lock.packages.map((p) => ({ ...p, channel: secret(p.channel), url: `${secret(p.url)}?token=qs-secret#frag` })) };
  const files = await sbomArtifact.make(input(lock, { effective: effectiveSpec("http://bob:alias-pass@127.0.0.1:1/t/tk-alias", REQUESTED) }));
  for (const f of files) {
    const text = f.body as string;
    for (const s of ["alice", "s3cr3t-pass", "tk-0123456789abcdef", "qs-secret", "frag", "/t/", "alias-pass"]) assert.ok(!text.includes(s), `${f.file} leaks ${s}`);
    assertValid(JSON.parse(text), f.file);
  }
  assert.equal(withoutCredentials("https://u:p@conda.example.org/t/abc/private/linux-64/x-1-0.conda"), "https://conda.example.org/private/linux-64/x-1-0.conda");
  assert.equal(withoutCredentials("https://conda.example.org/t/abc"), "https://conda.example.org/");
});

test("licences missing from the lock come from the installed prefix's conda-meta", async () => {
  const prefix = join(work, "envs", "sbom");
  await installFixture(env, prefix, false);
  const bare: Lock = { ...env.lock, packages: env.lock.packages.map(({ license: _license, ...p }) => p) };
  const noCache = { cacheDir: join(work, "no-cache") };
  const files = await sbomArtifact.make(input(bare, { installed: { prefix, platform: "linux-64", environmentHash: "x" }, ...noCache }));
  const linux = JSON.parse(files[0]?.body as string) as Bom;
  assertValid(linux, "linux-64");
  for (const c of linux.components) assert.ok(c.licenses?.length, `${c.name}: licence read from conda-meta`);
  // osx-arm64 was not installed and has no cache here: its packages go without licences, still valid.
  const osx = JSON.parse(files[1]?.body as string) as Bom;
  assertValid(osx, "osx-arm64");
  assert.ok(osx.components.some((c) => c.licenses === undefined));
  // With the cache, noarch packages of other platforms are found there.
  const cached = JSON.parse((await sbomArtifact.make(input(bare)))[1]?.body as string) as Bom;
  assert.ok(cached.components.find((c) => c.name === "requests")?.licenses?.length, "noarch licence from the package cache");
});

test("every package of the fixture universe gets a licence the 1.5 schema accepts", async () => {
  type Record = { name: string; version: string; build: string; build_number?: number; depends?: string[]; license?: string; sha256?: string; md5?: string; subdir?: string; noarch?: string };
  const all: { channel: string; filename: string; r: Record }[] = [];
  const root = env.universe.dir;
  for (const channel of readdirSync(root)) {
    for (const subdir of readdirSync(join(root, channel))) {
      const file = join(root, channel, subdir, "repodata.json");
      if (!existsSync(file)) continue;
      const repodata = JSON.parse(await readFile(file, "utf8")) as { packages?: { [f: string]: Record }; "packages.conda"?: { [f: string]: Record } };
      for (const [filename, r] of [...Object.entries(repodata.packages ?? {}), ...Object.entries(repodata["packages.conda"] ?? {})]) all.push({ channel: `https://conda.example.org/${channel}`, filename, r: { ...r, subdir } });
    }
  }
  assert.ok(all.length > 100, `${all.length} records`);
  // Locks whose packages have unique names: as many as the most versions of one name.
  const batches: Map<string, LockedPackage>[] = [];
  for (const { channel, filename, r } of all) {
    assert.ok(r.license && licenseChoice(r.license), `${filename} has a licence`);
    const p: LockedPackage = {
      name: r.name, version: r.version, build: r.build, buildNumber: r.build_number ?? 0, platform: "linux-64", subdir: r.subdir ?? "noarch", channel,
      url: `${channel}/${r.subdir ?? "noarch"}/${filename}`, filename, sha256: r.sha256 ?? "", md5: r.md5 ?? "", depends: r.depends ?? [], constrains: [], license: r.license,
      manager: "conda", category: "main", optional: false,
    };
    const batch = batches.find((b) => !b.has(p.name)) ?? (batches.push(new Map()), batches[batches.length - 1] as Map<string, LockedPackage>);
    batch.set(p.name, p);
  }
  const kinds = new Set<string>();
  for (const batch of batches) {
    const lock: Lock = { platforms: ["linux-64"], channels: [], contentHash: {}, sources: [], packages: [...batch.values()].sort((a, b) => (a.name < b.name ? -1 : 1)), metadata: {} };
    const bom = cycloneDxSbom({ namespace: "all", name: "universe", commit: COMMIT, lock, platform: "linux-64", requested: [], channelAlias: "https://conda.example.org" }) as Bom;
    assertValid(bom, "universe batch");
    for (const c of bom.components) {
      assert.equal(c.licenses?.length, 1, c.name);
      kinds.add(Object.keys(c.licenses?.[0] as object)[0] as string);
    }
  }
  assert.deepEqual([...kinds].sort(), ["expression", "license"], "ids and expressions both occur (MPL-2.0 or MIT, LicenseRef-...)");
});

test("licence texts map to SPDX ids, expressions or names, never to an invalid id", () => {
  assert.deepEqual(licenseChoice("bsd-3-clause"), { license: { id: "BSD-3-Clause" } });
  assert.deepEqual(licenseChoice("MPL-2.0 or MIT"), { expression: "MPL-2.0 OR MIT" });
  assert.deepEqual(licenseChoice("LicenseRef-NVIDIA-End-User-License-Agreement"), { expression: "LicenseRef-NVIDIA-End-User-License-Agreement" });
  assert.deepEqual(licenseChoice("BSD 3-Clause"), { license: { name: "BSD 3-Clause" } });
  assert.deepEqual(licenseChoice("  "), undefined);
  assert.equal(spdxExpression("(mit AND apache-2.0) or GPL-3.0-only WITH Classpath-exception-2.0"), "(MIT AND Apache-2.0) OR GPL-3.0-only WITH Classpath-exception-2.0");
  for (const bad of ["MIT And Apache-2.0", "MIT OR", "(MIT", "MIT)", "Apache-2.0 WITH MIT-ish", "(MIT) WITH Classpath-exception-2.0", "NotALicence-1.0", "AND"]) assert.equal(spdxExpression(bad), undefined, bad);
  for (const text of ["MIT", "GPL-2.0-or-later", "Apache 2.0", "Python-2.0 AND PSF-2.0"]) assertValid({ bomFormat: "CycloneDX", specVersion: "1.5", components: [{ type: "library", name: "x", licenses: [licenseChoice(text)] }] }, text);
});

test("purls percent-encode versions and name channels outside the alias by their last segment", () => {
  const p: LockedPackage = {
    name: "openssl", version: "3.0.0+local!1", build: "h0_0", buildNumber: 0, platform: "linux-64", subdir: "linux-64", channel: "https://u:p@mirror.example.org/t/tok/conda/internal",
    url: "https://mirror.example.org/conda/internal/linux-64/openssl-3.0.0-h0_0.tar.bz2", filename: "openssl-3.0.0-h0_0.tar.bz2", sha256: "", md5: "", depends: [], constrains: [], manager: "conda", category: "main", optional: false,
  };
  assert.equal(packagePurl(p, "https://conda.anaconda.org"), "pkg:conda/openssl@3.0.0%2Blocal!1?build=h0_0&channel=internal&repository_url=https:%2F%2Fmirror.example.org%2Fconda%2Finternal&subdir=linux-64&type=tar.bz2");
  assert.equal(packagePurl({ ...p, channel: "https://conda.anaconda.org/bioconda/label/dev" }, "https://conda.anaconda.org"), "pkg:conda/openssl@3.0.0%2Blocal!1?build=h0_0&channel=bioconda%2Flabel%2Fdev&repository_url=https:%2F%2Fconda.anaconda.org%2Fbioconda%2Flabel%2Fdev&subdir=linux-64&type=tar.bz2");
});
