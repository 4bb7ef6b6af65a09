/**
 * The build job end to end: a real git repository, fixture channels served on 127.0.0.1, the
 * store on PGlite (and on real PostgreSQL when TEST_DATABASE_URL is set), local object storage,
 * real installs. Each backend runs the same story, commit after commit.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse as parseYamlText } from "yaml";
import { createLocalStorage } from "../../../src/blobs/local-folder.ts";
import { runBuild } from "../../../src/builder/build/build-environment.ts";
import { prefixKey } from "../../../src/builder/build/build-prefix.ts";
import { selectEnvironments } from "../../../src/builder/build/select.ts";
import { buildCommit, commitsToBuild } from "../../../src/builder/build/build-commit.ts";
import type { BuildServices } from "../../../src/builder/build/services.ts";
import { openRepositorySource } from "../../../src/builder/build/repository-source.ts";
import { readLink, storeLayout } from "../../../src/builder/build/store-layout.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { parseCondaLock, serializeCondaLock } from "../../../src/builder/lock/conda-lock-v1.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { validateRepository } from "../../../src/spec/validate-repo.ts";
import { InfraError } from "../../../src/errors.ts";
import { openRepository } from "../../../src/git/repository.ts";
import { worktree } from "../../../src/git/worktree.ts";
import { createBuildStore } from "../../../src/store/build-store.ts";
import { migrate } from "../../../src/store/migrate.ts";
import type { BuildStore } from "../../../src/store/types.ts";
import buildRecordSchema from "../../../schemas/build-record.schema.json" with { type: "json" };
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import { createTestRepo } from "../../support/git-repo.ts";
import type { TestRepo } from "../../support/git-repo.ts";
import { testDatabases } from "../../support/databases.ts";

let server: ChannelServer;
before(async () => {
  server = await serveChannels((await sharedUniverse()).dir);
});
after(async () => {
  await server.close();
});

const isRoot = process.getuid?.() === 0;
const policy = (extra = "") => `channels:\n  alias: ALIAS\n  default: [conda-forge]\n  allowed: [conda-forge, extra]\nplatforms: [linux-64]\nbuild:\n  artifacts: [lock, explicit, yaml, log]\n${extra}`;

for (const backend of testDatabases()) {
  describe(`builds (${backend.name})`, () => {
    let work: string;
    let repo: TestRepo;
    let store: BuildStore;
    let drop: () => Promise<void>;
    let services: BuildServices;
    const lines: string[] = [];
    const shas: Record<string, string> = {};
    const sha = (k: string): string => shas[k] ?? assert.fail(`commit ${k} not made yet`);

    const build = async (opts: Parameters<typeof buildCommit>[2] = {}, s: BuildServices = services) => {
      const source = await openRepositorySource(repo.dir, join(work, "cache"), (l) => lines.push(l));
      return buildCommit(s, source, opts);
    };
    const repositoryId = async () => store.ensureRepository((await openRepositorySource(repo.dir, join(work, "cache"), () => undefined)).identity);
    const artifactsOf = async (buildId: number) => Object.fromEntries((await store.listArtifacts(buildId)).map((a) => [a.key.split("/").slice(4).join("/"), a]));

    before(async () => {
      work = await mkdtemp(join(tmpdir(), "condaops-build-"));
      const t = await backend.open();
      drop = t.drop;
      await migrate(t.db);
      store = createBuildStore(t.db);
      const config: BuildServices["config"] = {
        virtualPackages: DEFAULT_VIRTUAL_PACKAGES,
        install: { installer: "condaops", concurrency: 4, linkScripts: false, compilePython: false },
        build: isRoot ? { permissions: 0o750, uid: 4321, gid: 4322, minFreeSpace: 0 } : { permissions: 0o750, minFreeSpace: 0 },
        channelCredentials: [],
        cacheDir: join(work, "cache"),
        oci: { credentials: [], insecureRegistries: [] },
      };
      services = {
        store,
        blobs: createLocalStorage(join(work, "state", "blobs")),
        layout: storeLayout(join(work, "state")),
        gateway: createRepodataGateway({ cacheDir: join(work, "cache"), credentials: [] }),
        cache: createPackageCache({ root: join(work, "cache"), credentials: [] }),
        config,
        hostPlatform: "linux-64",
        worker: `${hostname()}:${process.pid}`,
        log: (l) => lines.push(l),
      };
      // 20 environments in one namespace, two in another; the root commit is never built.
      const files: Record<string, string> = { "policy.yaml": policy().replace("ALIAS", server.url) };
      for (let i = 1; i <= 20; i++) files[`team/e${String(i).padStart(2, "0")}.yaml`] = "dependencies: [hello-prefix]\n";
      files["beta/one.yaml"] = "dependencies: [hello-prefix]\n";
      files["beta/two.yaml"] = "dependencies: [extra-tool]\nchannels: [extra, conda-forge]\n";
      repo = await createTestRepo(files);
      shas.root = repo.commit("twenty-two environments", "2023-11-01T10:00:00Z");
    });
    after(async () => {
      await drop();
      await repo.cleanup();
      await rm(work, { recursive: true, force: true });
    });

    test("a commit touching 1 of 20 environments builds that one: lock as of the commit's date, installed, published, current", async () => {
      await repo.write({ "team/e07.yaml": "dependencies: [hello-prefix, python=3.11]\nvariables: {GREETING: hi}\n" });
      shas.c2 = repo.commit("e07: add python", "2023-12-20T10:00:00Z");
      const report = await build();
      assert.deepEqual(report.results.map((r) => `${r.namespace}/${r.name}`), ["team/e07"]);
      const r = report.results[0];
      assert.equal(r?.state, "succeeded", r?.error);
      const b = r?.build;
      assert.ok(b?.prefix && b.environmentHash);
      assert.equal(b.commit, sha("c2"));
      assert.equal(b.reason, "changed");
      assert.equal(b.platform, "linux-64");
      // The folder key: the environment hash mixed with the spec's variables (they live in conda-meta/state).
      assert.match(b.prefix, new RegExp(`/builds/${prefixKey(b.environmentHash, { GREETING: "hi" }).slice(0, 12)}-e07$`));
      assert.notEqual(prefixKey(b.environmentHash, { GREETING: "hi" }), b.environmentHash);
      assert.equal(prefixKey(b.environmentHash, {}), b.environmentHash);

      // The lock: solved as of 2023-12-20, so libzlib 1.3.1 (2024-01-20) was not visible yet.
      const arts = await artifactsOf(b.id);
      assert.deepEqual(Object.keys(arts).sort(), ["build.json", "explicit/linux-64.explicit.txt", "lock/conda-lock.yml", "log/build.log", "yaml/linux-64.environment.yaml"]);
      const keyBase = `builds/team/e07/${sha("c2")}`;
      for (const a of Object.values(arts)) {
        assert.ok(a.key.startsWith(`${keyBase}/`), a.key);
        const bytes = await services.blobs.getBuffer(a.key);
        assert.equal(bytes.length, a.size, `${a.key} size`);
        assert.equal((await import("node:crypto")).createHash("sha256").update(bytes).digest("hex"), a.sha256, `${a.key} sha256`);
      }
      const lock = parseCondaLock("lock", (await services.blobs.getBuffer(`${keyBase}/lock/conda-lock.yml`)).toString());
      const byName = new Map(lock.packages.map((p) => [p.name, p]));
      assert.equal(byName.get("libzlib")?.version, "1.2.13", "as of the commit's date");
      assert.equal(byName.get("python")?.version, "3.11.7");
      assert.ok(byName.has("hello-prefix"));
      const explicit = (await services.blobs.getBuffer(`${keyBase}/explicit/linux-64.explicit.txt`)).toString();
      assert.match(explicit, /^@EXPLICIT$/m);
      for (const p of lock.packages) assert.ok(explicit.includes(`${p.url}#${p.sha256}`) || explicit.includes(p.url), p.name);
      const pinned = parseYamlText((await services.blobs.getBuffer(`${keyBase}/yaml/linux-64.environment.yaml`)).toString()) as { name: string; dependencies: string[]; variables: Record<string, string> };
      assert.equal(pinned.name, "e07");
      assert.ok(pinned.dependencies.includes(`python=3.11.7=${byName.get("python")?.build}`));
      assert.deepEqual(pinned.variables, { GREETING: "hi" });
      const logText = (await services.blobs.getBuffer(`${keyBase}/log/build.log`)).toString();
      assert.match(logText, /^\S+Z spec hash [0-9a-f]{64}$/m);
      assert.match(logText, /installed \d+ packages/);

      // build.json: valid against its schema, requested vs dependencies, the other artifacts listed.
      const record = JSON.parse((await services.blobs.getBuffer(`${keyBase}/build.json`)).toString()) as {
        packages: { name: string; requested: boolean; license: string | null }[];
        artifacts: { key: string }[];
        specHash: string;
        installed: { environmentHash: string; reused: boolean };
        commit: { sha: string };
        asOf: string;
        lockSource: string;
      };
      const ajv = new Ajv2020({ strict: false, allErrors: true });
      assert.ok(ajv.validate(buildRecordSchema, record), JSON.stringify(ajv.errors));
      assert.equal(record.commit.sha, sha("c2"));
      assert.equal(record.specHash, b.specHash);
      assert.equal(record.installed.environmentHash, b.environmentHash);
      assert.equal(record.asOf, "2023-12-20T10:00:00.000Z");
      assert.equal(record.lockSource, "solved");
      const req = new Map(record.packages.map((p) => [p.name, p.requested]));
      assert.equal(req.get("python"), true);
      assert.equal(req.get("hello-prefix"), true);
      assert.equal(req.get("libzlib"), false, "a dependency");
      assert.equal(record.packages.find((p) => p.name === "hello-prefix")?.license, "MIT");
      assert.deepEqual(record.artifacts.map((a) => a.key).sort(), [arts["explicit/linux-64.explicit.txt"]?.key, arts["lock/conda-lock.yml"]?.key, arts["yaml/linux-64.environment.yaml"]?.key].sort());

      // Packages recorded, with licences and requested flags.
      const rows = await store.listPackages(b.id);
      assert.equal(rows.length, lock.packages.length);
      assert.equal(rows.find((p) => p.name === "python")?.requested, true);
      assert.equal(rows.find((p) => p.name === "libzlib")?.requested, false);
      assert.equal(rows.find((p) => p.name === "hello-prefix")?.license, "MIT");

      // Current and pinned on disk; the program in the prefix knows where it lives.
      assert.equal(await readLink(services.layout.envLink("team", "e07")), b.prefix);
      assert.equal(await readLink(services.layout.pinLink("team", "e07", sha("c2"))), b.prefix);
      assert.equal((await lstat(services.layout.envLink("team", "e07"))).isSymbolicLink(), true);
      assert.equal(execFileSync(join(services.layout.envLink("team", "e07"), "bin", "hello-prefix"), { encoding: "utf8" }).trim(), b.prefix);
      const env = await store.getEnvironment(await repositoryId(), "team", "e07");
      assert.equal(env?.currentBuildId, b.id);
      // Only e07 was built: no other environment has a build.
      assert.equal(await store.getEnvironment(await repositoryId(), "team", "e01"), undefined);
    });

    test("permissions are applied to the prefix before it becomes current", async () => {
      const b = (await store.resolveBuild(await repositoryId(), "team", "e07", "current"))!;
      const prefix = b.prefix!;
      assert.equal((await stat(prefix)).mode & 0o777, 0o750);
      assert.equal((await stat(join(prefix, "conda-meta"))).mode & 0o777, 0o750);
      const script = await stat(join(prefix, "bin", "hello-prefix"));
      assert.equal(script.mode & 0o777, 0o750, "executables keep execute");
      const history = await stat(join(prefix, "conda-meta", "history"));
      assert.equal(history.mode & 0o777, 0o640, "data files do not become executable");
      if (!isRoot) {
        test.skip("uid/gid: needs root to chown");
        return;
      }
      for (const p of [prefix, join(prefix, "bin", "hello-prefix"), join(prefix, "conda-meta", "history")]) {
        const s = await lstat(p);
        assert.deepEqual([s.uid, s.gid], [4321, 4322], p);
      }
    });

    test("building the same commit again is a no-op that reports the existing build", async () => {
      const before = await store.buildsInState("succeeded");
      const report = await build();
      assert.equal(report.results.length, 1);
      assert.equal(report.results[0]?.existing, true);
      assert.equal(report.results[0]?.state, "succeeded");
      assert.deepEqual((await store.buildsInState("succeeded")).map((b) => b.id), before.map((b) => b.id));
      // --force makes a recorded new attempt with its own keys.
      const forced = await build({ force: true, named: [{ namespace: "team", name: "e07" }] });
      const f = forced.results[0]?.build;
      assert.equal(forced.results[0]?.state, "succeeded", forced.results[0]?.error);
      assert.equal(f?.attempt, 2);
      assert.equal(f?.reason, "forced");
      assert.equal(forced.results[0]?.reusedPrefix, true, "same packages: the prefix is reused");
      assert.ok((await store.listArtifacts(f!.id)).every((a) => a.key.startsWith(`builds/team/e07/${sha("c2")}-attempt2/`)));
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e07"))?.currentBuildId, f!.id);
    });

    test("a spec change that keeps the packages reuses the prefix; the commit without changes resolves to the last build", async () => {
      const prev = (await store.resolveBuild(await repositoryId(), "team", "e07", "current"))!;
      await repo.write({ "team/e07.yaml": "dependencies: [hello-prefix, 'python>=3.11,<3.12']\nvariables: {GREETING: hi}\n" });
      shas.c3 = repo.commit("e07: loosen python", "2024-03-01T10:00:00Z");
      await repo.write({ "README.md": "docs only\n" });
      shas.c4 = repo.commit("docs", "2024-03-02T10:00:00Z");
      const r3 = await build({ ref: sha("c3") });
      const b3 = r3.results[0];
      assert.equal(b3?.state, "succeeded", b3?.error);
      assert.notEqual(b3?.build?.specHash, prev.specHash);
      assert.equal(b3?.build?.environmentHash, prev.environmentHash, "minimal change kept every package");
      assert.equal(b3?.reusedPrefix, true);
      assert.equal(b3?.build?.prefix, prev.prefix);
      const r4 = await build({ ref: sha("c4") });
      assert.deepEqual(r4.results, [], "a docs-only commit builds nothing");
      const resolved = await store.resolveBuild(await repositoryId(), "team", "e07", sha("c4").slice(0, 10));
      assert.equal(resolved?.id, b3?.build?.id, "e07@<docs commit> is the build of the latest earlier commit that changed it");
      const older = await store.resolveBuild(await repositoryId(), "team", "e07", sha("c2"));
      assert.equal(older?.commit, sha("c2"));
      assert.equal(await readLink(services.layout.pinLink("team", "e07", sha("c3"))), prev.prefix);

      // Same packages, other variables: a prefix of its own (variables live in conda-meta/state).
      await repo.write({ "team/e07.yaml": "dependencies: [hello-prefix, 'python>=3.11,<3.12']\nvariables: {GREETING: bye}\n" });
      shas.c4b = repo.commit("e07: other greeting", "2024-03-03T10:00:00Z");
      const rv = (await build()).results[0];
      assert.equal(rv?.state, "succeeded", rv?.error);
      assert.equal(rv?.build?.environmentHash, prev.environmentHash);
      assert.equal(rv?.reusedPrefix, false);
      assert.notEqual(rv?.build?.prefix, prev.prefix);
      assert.match(await readFile(join(rv!.build!.prefix!, "conda-meta", "state"), "utf8"), /bye/);
      assert.match(await readFile(join(prev.prefix!, "conda-meta", "state"), "utf8"), /hi/, "the earlier prefix is untouched");
    });

    test("a committed lock whose spec hash matches is built verbatim", async () => {
      // Locked as of 2023-06: libzlib 1.2.13, where a solve at this commit's date would pick 1.3.1.
      await repo.write({ "team/e03.yaml": "dependencies: [hello-prefix, libzlib]\n" });
      const report = await validateRepository(worktree(repo.dir), { only: ["team/e03.yaml"] });
      const spec = report.specs[0]!;
      const { lock } = await solveEnvironment(spec.effective!, {
        gateway: services.gateway,
        virtualPackages: DEFAULT_VIRTUAL_PACKAGES,
        asOf: new Date("2023-06-01T00:00:00Z"),
        sources: ["team/e03.yaml"],
        metadata: { "condaops.spec-hash": spec.specHash! },
      });
      const text = `# locked by hand\n${serializeCondaLock(lock)}`;
      await repo.write({ "team/e03.lock.yml": text });
      shas.c5 = repo.commit("e03: libzlib, locked", "2024-06-01T10:00:00Z");
      const r = await build();
      assert.deepEqual(r.results.map((x) => `${x.namespace}/${x.name}:${x.state}`), ["team/e03:succeeded"]);
      const b = r.results[0]!.build!;
      const published = (await services.blobs.getBuffer(`builds/team/e03/${sha("c5")}/lock/conda-lock.yml`)).toString();
      assert.equal(published, text, "the committed lock, byte for byte");
      const record = JSON.parse((await services.blobs.getBuffer(`builds/team/e03/${sha("c5")}/build.json`)).toString()) as { lockSource: string };
      assert.equal(record.lockSource, "committed");
      assert.equal((await store.listPackages(b.id)).find((p) => p.name === "libzlib")?.version, "1.2.13");
    });

    test("a committed lock that breaks the policy (its hash forged to match) fails the build", async () => {
      const text = (await services.blobs.getBuffer(`builds/team/e03/${sha("c5")}/lock/conda-lock.yml`)).toString();
      const forged = text.replaceAll(`${server.url}/conda-forge/`, "http://127.0.0.1:9/evil/");
      assert.notEqual(forged, text);
      await repo.write({ "team/e03.lock.yml": forged });
      shas.c5x = repo.commit("e03: a lock from elsewhere", "2024-06-01T11:00:00Z");
      const current = (await store.resolveBuild(await repositoryId(), "team", "e03", "current"))!;
      const r = await build();
      assert.equal(r.results[0]?.state, "failed");
      assert.match(r.results[0]?.error ?? "", /breaks the policy: .*127\.0\.0\.1:9\/evil, which is not one of the spec's channels/);
      assert.ok(!server.requests.some((q) => q.url.includes("/evil/")), "nothing was fetched from the forged URLs");
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e03"))?.currentBuildId, current.id);
      await repo.write({ "team/e03.lock.yml": text });
      shas.c5y = repo.commit("e03: lock restored", "2024-06-01T12:00:00Z");
      assert.equal((await build()).results[0]?.state, "succeeded");
    });

    test("a policy change rebuilds exactly the environments whose effective spec it changes", async () => {
      await repo.write({ "policy.yaml": policy("namespaces:\n  beta:\n    packages:\n      included: [libzlib]\n").replace("ALIAS", server.url) });
      shas.c6 = repo.commit("policy: beta gets libzlib", "2024-06-02T10:00:00Z");
      const r = await build();
      assert.deepEqual(r.results.map((x) => `${x.namespace}/${x.name}:${x.state}`), ["beta/one:succeeded", "beta/two:succeeded"]);
      const two = r.results[1]!.build!;
      const names = (await store.listPackages(two.id)).map((p) => `${p.name}:${p.channel.split("/").pop()}`).sort();
      assert.deepEqual(names, ["extra-tool:extra", "libzlib:conda-forge"]);
    });

    test("a failed build is recorded with its reason and log; the previous build stays current; nothing else is published", async () => {
      const current = (await store.resolveBuild(await repositoryId(), "team", "e07", "current"))!;
      await repo.write({ "team/e07.yaml": "dependencies: [hello-prefix, python=9.9]\n" });
      shas.c7 = repo.commit("e07: python 9.9", "2024-06-03T10:00:00Z");
      const r = await build();
      const f = r.results[0]!;
      assert.equal(f.state, "failed");
      assert.match(f.error ?? "", /python/);
      assert.equal(f.build?.state, "failed");
      assert.match(f.build?.error ?? "", /python/);
      const arts = await store.listArtifacts(f.build!.id);
      assert.deepEqual(arts.map((a) => a.kind), ["log"]);
      assert.match((await services.blobs.getBuffer(arts[0]!.key)).toString(), /FAILED: the spec cannot be solved[\s\S]*python 9\.9/);
      assert.deepEqual((await services.blobs.list(`builds/team/e07/${sha("c7")}/`)).map((o) => o.key), [arts[0]!.key], "only the log is stored");
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e07"))?.currentBuildId, current.id);
      assert.equal(await readLink(services.layout.envLink("team", "e07")), current.prefix);
      assert.equal(existsSync(services.layout.pinLink("team", "e07", sha("c7"))), false);

      // A download failure too (the package server answers 500 for hello-prefix).
      await repo.write({ "team/e07.yaml": "dependencies: [hello-prefix, python=3.11, six]\n" });
      shas.c8 = repo.commit("e07: six", "2024-06-04T10:00:00Z");
      server.hook(/six-/, { kind: "fail", status: 404 });
      try {
        const d = await build();
        assert.equal(d.results[0]?.state, "failed");
        assert.match(d.results[0]?.error ?? "", /six/);
      } finally {
        server.clearHooks();
      }
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e07"))?.currentBuildId, current.id);
      assert.deepEqual((await readdir(services.layout.buildsDir)).filter((n) => n.includes(".partial-")), [], "no partial prefix left");
    });

    test("a build left 'building' by a dead worker is marked failed, its partial prefix removed, and retried once", async () => {
      const dead = spawnSync(process.execPath, ["-e", "process.pid"]).pid!;
      const repoId = await repositoryId();
      const env = await store.ensureEnvironment(repoId, "team", "e11");
      const sel = await validateRepository(await (await openRepository(repo.dir)).tree(sha("c8")), { only: ["team/e11.yaml"] });
      await store.recordSpecification(sel.specs[0]!.specHash!, sel.specs[0]!.effective);
      const queued = await store.createBuild({ environmentId: env.id, commit: sha("c8"), specHash: sel.specs[0]!.specHash!, reason: "named", attempt: 1 });
      assert.equal(await store.startBuild(queued.id, `${hostname()}:${dead}`), true);
      const partial = join(services.layout.buildsDir, "abcdefabcdef-e11.partial-dead");
      await mkdir(join(partial, "bin"), { recursive: true });
      await writeFile(join(partial, ".condaops-partial"), JSON.stringify({ pid: dead, host: hostname() }));

      // What the dead attempt had stored before any row: removed by recovery.
      const orphan = `builds/team/e11/${sha("c8")}/lock/conda-lock.yml`;
      await services.blobs.put(orphan, "half a lock\n");
      // Its log was finished but not yet recorded: kept, and recorded as the failed build's log.
      const deadLog = `builds/team/e11/${sha("c8")}/log/build.log`;
      await services.blobs.put(deadLog, "the dead worker's log\n");
      // A crash between the database and the links: e07's envs/ link and its pin are gone.
      const e07 = (await store.resolveBuild(repoId, "team", "e07", "current"))!;
      await rm(services.layout.envLink("team", "e07"));
      await rm(services.layout.pinLink("team", "e07", e07.commit));

      const r = await build({ ref: sha("c8") });
      assert.equal(existsSync(partial), false, "partial prefix removed");
      assert.equal(await services.blobs.stat(orphan), undefined, "unrecorded object of the dead attempt removed");
      assert.deepEqual((await store.listArtifacts(queued.id)).map((a) => [a.kind, a.key]), [["log", deadLog]]);
      assert.equal((await services.blobs.getBuffer(deadLog)).toString(), "the dead worker's log\n");
      assert.equal(await readLink(services.layout.envLink("team", "e07")), e07.prefix, "envs/ link re-pointed from the database");
      assert.equal(await readLink(services.layout.pinLink("team", "e07", e07.commit)), e07.prefix, "pin restored");
      const failed = await store.getBuild(queued.id);
      assert.equal(failed?.state, "failed");
      assert.match(failed?.error ?? "", /stopped while building/);
      assert.equal(r.retried.length, 1);
      assert.equal(r.retried[0]?.state, "succeeded", r.retried[0]?.error);
      assert.equal(r.retried[0]?.build?.attempt, 2);
      assert.equal(r.retried[0]?.build?.reason, "retry");
      assert.equal((await store.getEnvironment(repoId, "team", "e11"))?.currentBuildId, r.retried[0]?.build?.id);
    });

    test("a build another worker already started is reported, not run twice", async () => {
      const repoId = await repositoryId();
      const env = await store.ensureEnvironment(repoId, "team", "e16");
      const git = await openRepository(repo.dir);
      const tree = await git.tree(sha("c8"));
      const v = await validateRepository(tree, { only: ["team/e16.yaml"] });
      await store.recordSpecification(v.specs[0]!.specHash!, v.specs[0]!.effective);
      const queued = await store.createBuild({ environmentId: env.id, commit: sha("c8"), specHash: v.specs[0]!.specHash!, reason: "named", attempt: 1 });
      assert.equal(await store.startBuild(queued.id, "elsewhere:1"), true);
      const target = (await selectEnvironments(tree, { named: [{ namespace: "team", name: "e16" }] })).targets[0]!;
      const out = await runBuild(services, { repositoryId: repoId, repositoryIdentity: "x", commit: await git.commit(sha("c8")), tree, target, build: queued });
      assert.equal(out.taken, true);
      assert.equal(out.build.worker, "elsewhere:1");
      assert.equal(out.build.state, "building");
      assert.deepEqual(await services.blobs.list("builds/team/e16/"), [], "nothing stored by this process");
      await store.finishBuild(queued.id, { state: "failed", error: "test cleanup" });
    });

    test("a removed spec is marked removed and its current link goes; its builds and pins stay", async () => {
      const before = (await store.resolveBuild(await repositoryId(), "team", "e03", "current"))!;
      await repo.remove(["team/e03.yaml", "team/e03.lock.yml"]);
      shas.c9 = repo.commit("drop e03", "2024-06-05T10:00:00Z");
      const r = await build();
      assert.deepEqual(r.removed, [{ namespace: "team", name: "e03" }]);
      assert.equal(existsSync(services.layout.envLink("team", "e03")), false);
      assert.equal(await readLink(services.layout.pinLink("team", "e03", sha("c5"))), before.prefix);
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e03"))?.removedAtCommit, sha("c9"));
      assert.equal((await store.getBuild(before.id))?.state, "succeeded");

      // Building it at an older commit does not bring it back.
      const old = await build({ ref: sha("c5"), named: [{ namespace: "team", name: "e03" }], force: true });
      assert.equal(old.results[0]?.state, "succeeded", old.results[0]?.error);
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e03"))?.removedAtCommit, sha("c9"));
      assert.equal(existsSync(services.layout.envLink("team", "e03")), false);
    });

    test("a failed upload fails the build, removes what it stored and writes no artifact rows but the log's", async () => {
      await repo.write({ "team/e12.yaml": "dependencies: [hello-prefix, libzlib]\n" });
      shas.c10 = repo.commit("e12: libzlib", "2024-06-06T10:00:00Z");
      const failing: BuildServices = {
        ...services,
        blobs: {
          ...services.blobs,
          location: services.blobs.location,
          put: async (key, body) => {
            if (key.includes("/yaml/")) throw new InfraError("storage.io", `cannot write ${key}: disk full`);
            return services.blobs.put(key, body);
          },
        },
      };
      const r = await build({}, failing);
      const f = r.results[0]!;
      assert.equal(f.state, "failed");
      assert.match(f.error ?? "", /disk full/);
      assert.deepEqual((await store.listArtifacts(f.build!.id)).map((a) => a.kind), ["log"]);
      assert.deepEqual((await services.blobs.list(`builds/team/e12/${sha("c10")}/`)).map((o) => o.key), [`builds/team/e12/${sha("c10")}/log/build.log`]);
      assert.deepEqual(await store.listPackages(f.build!.id), []);
      assert.equal((await store.getEnvironment(await repositoryId(), "team", "e12"))?.currentBuildId, null);
      assert.equal(existsSync(services.layout.envLink("team", "e12")), false);
    });

    test("canceling: the running build ends canceled at its next step, queued ones never start", async () => {
      await repo.write({ "team/e13.yaml": "dependencies: [hello-prefix, libzlib]\n", "team/e14.yaml": "dependencies: [libzlib]\n" });
      shas.c11 = repo.commit("e13, e14", "2024-06-07T10:00:00Z");
      const controller = new AbortController();
      const canceling: BuildServices = {
        ...services,
        signal: controller.signal,
        gateway: {
          ...services.gateway,
          subdir: (channel: string, subdir: string) => {
            controller.abort(); // Ctrl-C while the first build solves
            return services.gateway.subdir(channel, subdir);
          },
        },
      };
      const r = await build({}, canceling);
      assert.deepEqual(r.results.map((x) => `${x.name}:${x.state}`), ["e13:canceled", "e14:canceled"]);
      for (const x of r.results) assert.equal((await store.getBuild(x.build!.id))?.state, "canceled");
      assert.match((await services.blobs.getBuffer(`builds/team/e13/${sha("c11")}/log/build.log`)).toString(), /canceled before finishing/);
      assert.equal(r.results[1]?.error, "canceled before it started");
      assert.equal(existsSync(services.layout.envLink("team", "e13")), false);
    });

    test("channel tokens never reach the log, the lock, build.json or the error column", async () => {
      const token = "tk-build-secret-4711";
      server.hook("/extra/", { kind: "token", token });
      try {
        await repo.write({ "team/e15.yaml": "channels: [extra, conda-forge]\ndependencies: [extra-tool]\n" });
        shas.c12 = repo.commit("e15 from the private channel", "2024-06-08T10:00:00Z");
        const withToken: BuildServices = { ...services, config: { ...services.config, channelCredentials: [{ prefix: `${server.url}/extra`, token, bearer: false }] } };
        withToken.gateway = createRepodataGateway({ cacheDir: join(work, "cache-private"), credentials: withToken.config.channelCredentials });
        withToken.cache = createPackageCache({ root: join(work, "cache-private"), credentials: withToken.config.channelCredentials });
        const ok = await build({}, withToken);
        assert.equal(ok.results[0]?.state, "succeeded", ok.results[0]?.error);
        assert.ok(server.requests.some((r) => r.url.includes(`/t/${token}/extra/`)), "the token was used");
        for (const a of await store.listArtifacts(ok.results[0]!.build!.id)) {
          assert.ok(!(await services.blobs.getBuffer(a.key)).toString().includes(token), `${a.key} carries the token`);
        }
        // A wrong token: the build fails, and neither token shows in its error or log.
        await repo.write({ "team/e15.yaml": "channels: [extra, conda-forge]\ndependencies: [extra-tool, hello-prefix]\n" });
        shas.c13 = repo.commit("e15 again", "2024-06-09T10:00:00Z");
        const wrong = "tk-wrong-secret-0815";
        const bad: BuildServices = { ...withToken, config: { ...withToken.config, channelCredentials: [{ prefix: `${server.url}/extra`, token: wrong, bearer: false }] } };
        bad.gateway = createRepodataGateway({ cacheDir: join(work, "cache-wrong"), credentials: bad.config.channelCredentials });
        bad.cache = createPackageCache({ root: join(work, "cache-wrong"), credentials: bad.config.channelCredentials });
        const failed = await build({}, bad);
        const f = failed.results[0]!;
        assert.equal(f.state, "failed");
        const logText = (await services.blobs.getBuffer(`builds/team/e15/${sha("c13")}/log/build.log`)).toString();
        for (const text of [f.error ?? "", f.build?.error ?? "", logText, lines.join("\n")]) {
          assert.ok(!text.includes(wrong) && !text.includes(token), `a token leaked: ${text.slice(0, 300)}`);
        }
      } finally {
        server.clearHooks();
      }
    });

    test("commitsToBuild: every first-parent commit not yet recorded, oldest first", async () => {
      const source = await openRepositorySource(repo.dir, join(work, "cache"), () => undefined);
      const head = await source.repo.resolve("HEAD");
      assert.deepEqual(await commitsToBuild(services, source, head), [head], "HEAD is recorded: just HEAD");
      const made: string[] = [];
      for (const n of [18, 19, 20]) {
        await repo.write({ [`team/e${n}.yaml`]: "dependencies: [hello-prefix, libzlib]\n" });
        made.push(repo.commit(`e${n}`, `2024-07-0${n - 17}T10:00:00Z`));
      }
      assert.deepEqual(await commitsToBuild(services, source, made[2]!), made);
      for (const c of await commitsToBuild(services, source, made[2]!)) {
        const r = await build({ ref: c });
        assert.equal(r.results.length, 1);
        assert.equal(r.results[0]?.state, "succeeded", r.results[0]?.error);
      }
      assert.deepEqual(await commitsToBuild(services, source, made[2]!), [made[2]]);
    });

    test("building an older commit does not roll the current build back", async () => {
      const current = (await store.resolveBuild(await repositoryId(), "beta", "one", "current"))!;
      const r = await build({ ref: sha("c2"), named: [{ namespace: "beta", name: "one" }] });
      assert.equal(r.results[0]?.state, "succeeded", r.results[0]?.error);
      assert.equal((await store.getEnvironment(await repositoryId(), "beta", "one"))?.currentBuildId, current.id);
      assert.equal(await readLink(services.layout.pinLink("beta", "one", sha("c2"))), r.results[0]?.build?.prefix);
    });
  });
}

if (!testDatabases().some((b) => b.name === "postgres")) {
  test("builds on real PostgreSQL", { skip: "needs a PostgreSQL server: set TEST_DATABASE_URL (.ci/run does)" }, () => undefined);
}
