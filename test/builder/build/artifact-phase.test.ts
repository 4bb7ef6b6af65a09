/**
 * The build's artifact phase with makers of our own (swapped into ARTIFACT_MAKERS for one test
 * and restored after it) around a real build: Ctrl-C while a maker runs ends the build canceled,
 * the first failure stops the other makers and is the one reported, `afterStored` runs only once
 * every object is stored (and its failure still removes them), build.json lists the artifacts in
 * key order. Then the real OCI maker against a real registry: a build that succeeds pushes its
 * image, one that fails pushes no tag.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createLocalStorage } from "../../../src/blobs/local-folder.ts";
import { ARTIFACT_MAKERS } from "../../../src/builder/artifacts/index.ts";
import type { ArtifactInput, ArtifactMaker } from "../../../src/builder/artifacts/index.ts";
import { buildCommit } from "../../../src/builder/build/build-commit.ts";
import type { EnvironmentResult } from "../../../src/builder/build/build-commit.ts";
import { buildWorkDir } from "../../../src/builder/build/build-environment.ts";
import type { BuildServices } from "../../../src/builder/build/services.ts";
import { openRepositorySource } from "../../../src/builder/build/repository-source.ts";
import { storeLayout } from "../../../src/builder/build/store-layout.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { createPackageCache } from "../../../src/builder/package/package-cache.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { InfraError } from "../../../src/errors.ts";
import type { ArtifactKind } from "../../../src/spec/types.ts";
import { createBuildStore } from "../../../src/store/build-store.ts";
import { migrate } from "../../../src/store/migrate.ts";
import type { ArtifactRow, BuildStore } from "../../../src/store/types.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import { testDatabases } from "../../support/databases.ts";
import { createTestRepo } from "../../support/git-repo.ts";
import type { TestRepo } from "../../support/git-repo.ts";
import { startRegistry, toolMissing } from "../../support/oci-registry.ts";

/** Runs `fn` with some makers swapped for ours; the real ones are back afterwards whatever happens. */
async function withMakers<T>(makers: Partial<Record<ArtifactKind, ArtifactMaker>>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...ARTIFACT_MAKERS };
  Object.assign(ARTIFACT_MAKERS, makers);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(makers) as ArtifactKind[]) {
      if (saved[k]) ARTIFACT_MAKERS[k] = saved[k];
      else delete ARTIFACT_MAKERS[k];
    }
  }
}

interface Seen {
  signal?: AbortSignal;
  aborted: boolean;
}

/** A maker that works for 20 s unless its signal is aborted, then throws an AbortError as pack and the OCI writer do. */
function slowMaker(kind: ArtifactKind, seen: Seen, started?: () => void): ArtifactMaker {
  return {
    kind,
    needsPrefix: false,
    async make(input: ArtifactInput) {
      seen.signal = input.signal;
      started?.();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 20_000);
        const abort = () => {
          clearTimeout(timer);
          seen.aborted = true;
          reject(Object.assign(new Error("The operation was aborted"), { name: "AbortError", cause: input.signal?.reason as unknown }));
        };
        if (input.signal?.aborted) abort();
        else input.signal?.addEventListener("abort", abort, { once: true });
      });
      return [{ kind, file: `${kind}.bin`, platform: "linux-64", body: "made after all" }];
    },
  };
}

/** A maker done after `ms`, with one small file. */
function quickMaker(kind: ArtifactKind, ms: number, file = `${kind}.bin`): ArtifactMaker {
  return {
    kind,
    needsPrefix: false,
    async make() {
      await delay(ms);
      return [{ kind, file, platform: "linux-64", body: `${kind}\n` }];
    },
  };
}

const isRoot = process.getuid?.() === 0;
const POLICY = "channels:\n  alias: ALIAS\n  default: [conda-forge]\nplatforms: [linux-64]\nbuild:\n  artifacts: [lock, explicit, yaml, pack, oci, log]\n";

describe("the artifact phase", () => {
  let server: ChannelServer;
  let work: string;
  let repo: TestRepo;
  let store: BuildStore;
  let drop: () => Promise<void>;
  let services: BuildServices;
  /** Every key put and every artifact row written, in order, by any build of this file. */
  const puts: string[] = [];
  const rowsWritten: ArtifactRow[] = [];
  let commitDay = 1;

  /** Commits `team/<name>.yaml` and builds it; the build's result, its log and its stored keys. */
  const buildNew = async (name: string, s: Partial<BuildServices> = {}): Promise<{ result: EnvironmentResult; log: string; keys: string[]; prefix: string }> => {
    await repo.write({ [`team/${name}.yaml`]: "dependencies: [hello-prefix]\n" });
    const sha = repo.commit(name, `2024-02-${String(commitDay++).padStart(2, "0")}T10:00:00Z`);
    const source = await openRepositorySource(repo.dir, join(work, "cache"), () => undefined);
    const report = await buildCommit({ ...services, ...s }, source, {});
    assert.equal(report.results.length, 1);
    const result = report.results[0] as EnvironmentResult;
    const prefix = `builds/team/${name}/${sha}/`;
    const logKey = `${prefix}log/build.log`;
    const log = (await services.blobs.stat(logKey)) ? (await services.blobs.getBuffer(logKey)).toString() : "";
    return { result, log, keys: (await services.blobs.list(prefix)).map((o) => o.key), prefix };
  };

  /** Resolves once environment `name`'s lock is stored: the quick artifacts are in before we strike. */
  const lockStored = async (name: string): Promise<void> => {
    while (!puts.some((k) => k.startsWith(`builds/team/${name}/`) && k.endsWith("/lock/conda-lock.yml"))) await delay(5);
  };

  before(async () => {
    server = await serveChannels((await sharedUniverse()).dir);
    work = await mkdtemp(join(tmpdir(), "condaops-artifact-phase-"));
    const backend = testDatabases()[0];
    assert.ok(backend);
    const t = await backend.open();
    drop = t.drop;
    await migrate(t.db);
    const real = createBuildStore(t.db);
    store = {
      ...real,
      addArtifact: async (row) => {
        rowsWritten.push(row);
        return real.addArtifact(row);
      },
    };
    const blobs = createLocalStorage(join(work, "state", "blobs"));
    services = {
      store,
      blobs: {
        ...blobs,
        location: blobs.location,
        put: async (key, body) => {
          puts.push(key);
          return blobs.put(key, body);
        },
      },
      layout: storeLayout(join(work, "state")),
      gateway: createRepodataGateway({ cacheDir: join(work, "cache"), credentials: [] }),
      cache: createPackageCache({ root: join(work, "cache"), credentials: [] }),
      config: {
        virtualPackages: DEFAULT_VIRTUAL_PACKAGES,
        install: { installer: "condaops", concurrency: 4, linkScripts: false, compilePython: false },
        build: isRoot ? { permissions: 0o750, uid: 4321, gid: 4322, minFreeSpace: 0 } : { minFreeSpace: 0 },
        channelCredentials: [],
        cacheDir: join(work, "cache"),
        oci: { credentials: [], insecureRegistries: [] },
      },
      hostPlatform: "linux-64",
      worker: "test:1",
      log: () => undefined,
    };
    repo = await createTestRepo({ "policy.yaml": POLICY.replace("ALIAS", server.url) });
    repo.commit("policy", "2024-01-01T10:00:00Z");
  });
  after(async () => {
    await drop();
    await repo.cleanup();
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  test("Ctrl-C while a maker runs ends the build canceled, not failed; nothing but its log stays", async () => {
    const controller = new AbortController();
    const seen: Seen = { aborted: false };
    const started = Date.now();
    const { result, log, keys, prefix } = await withMakers({ pack: slowMaker("pack", seen, () => void lockStored("cancel").then(() => controller.abort())), oci: quickMaker("oci", 0) }, () =>
      buildNew("cancel", { signal: controller.signal }),
    );
    assert.equal(result.state, "canceled", result.error);
    assert.equal(result.build?.state, "canceled");
    assert.equal(result.build?.error, "canceled");
    assert.ok(Date.now() - started < 15_000, "the maker stopped on the abort");
    assert.ok(seen.aborted, "the running maker saw the cancel");
    assert.ok(seen.signal && seen.signal !== controller.signal, "makers get the phase's own signal, linked to the build's");
    assert.match(log, /canceled before finishing/);
    assert.doesNotMatch(log, /FAILED/);
    assert.ok(puts.includes(`${prefix}lock/conda-lock.yml`), "the lock had been stored");
    assert.deepEqual(keys, [`${prefix}log/build.log`], "and was removed: only the log stays");
    assert.deepEqual((await store.listArtifacts(result.build!.id)).map((a) => a.kind), ["log"]);
    assert.equal(existsSync(buildWorkDir(services.layout, result.build!.id)), false, "scratch folder removed");
  });

  test("the first failure stops the other makers and is the one reported, not the aborts it caused", async () => {
    const seen: Seen = { aborted: false };
    const failing: ArtifactMaker = {
      kind: "oci",
      needsPrefix: false,
      async make(input) {
        await lockStored(input.name);
        throw new InfraError("oci.test", "the image cannot be made", { hint: "a hint for the image" });
      },
    };
    const started = Date.now();
    const { result, log, keys, prefix } = await withMakers({ pack: slowMaker("pack", seen), oci: failing }, () => buildNew("firstfail"));
    assert.equal(result.state, "failed");
    assert.equal(result.build?.error, "oci artifact: the image cannot be made (a hint for the image)");
    assert.ok(seen.aborted, "the slow maker was stopped");
    assert.ok(Date.now() - started < 15_000, "without waiting for it");
    assert.match(log, /oci: failed, stopping the other artifacts/);
    assert.match(log, /FAILED: oci artifact: the image cannot be made/);
    assert.doesNotMatch(log, /pack artifact|aborted/i, "the abort it caused is not reported as a failure");
    assert.ok(puts.includes(`${prefix}lock/conda-lock.yml`));
    assert.ok(!puts.some((k) => k.startsWith(`${prefix}pack/`)), "the stopped maker uploaded nothing");
    assert.deepEqual(keys, [`${prefix}log/build.log`]);
    assert.deepEqual((await store.listArtifacts(result.build!.id)).map((a) => a.kind), ["log"]);
  });

  test("afterStored runs once every object is stored, before any row, with make()'s workDir; build.json lists the artifacts by key", async () => {
    const reference = `registry.example.org/team/hooked@sha256:${"ab".repeat(32)}`;
    const hook: { workDir?: string; stored?: string[]; missing?: string[]; rows?: number } = {};
    const oci: ArtifactMaker = {
      kind: "oci",
      needsPrefix: false,
      async make(input) {
        await writeFile(join(input.workDir, "layout.txt"), "the image layout\n");
        return [{ kind: "oci", file: "image.oci.tar", platform: "linux-64", body: "image\n" }];
      },
      async afterStored(input, stored) {
        hook.workDir = existsSync(join(input.workDir, "layout.txt")) ? input.workDir : undefined;
        hook.stored = stored.map((s) => s.key);
        const all = [...hook.stored, `${hook.stored[0]?.split("/").slice(0, 4).join("/")}/build.json`];
        hook.missing = [];
        for (const k of all) if (!(await services.blobs.stat(k))) hook.missing.push(k);
        hook.rows = rowsWritten.filter((r) => all.includes(r.key)).length;
        input.log(`oci: pushed somewhere as ${reference}`);
        return [reference];
      },
    };
    // Finishing in the reverse of key order: pack last, oci before it, the lock and its kin first.
    const { result, log, keys, prefix } = await withMakers({ pack: quickMaker("pack", 150, "hooked.tar.gz"), oci }, () => buildNew("hooked"));
    assert.equal(result.state, "succeeded", result.error);
    assert.ok(hook.workDir, "make()'s workDir is still there");
    assert.equal(existsSync(hook.workDir), false, "and removed after publishing");
    const listed = [`${prefix}explicit/linux-64.explicit.txt`, `${prefix}lock/conda-lock.yml`, `${prefix}oci/image.oci.tar`, `${prefix}pack/hooked.tar.gz`, `${prefix}yaml/linux-64.environment.yaml`];
    assert.deepEqual(hook.stored, listed, "every maker's file, in key order");
    assert.deepEqual(hook.missing, [], "all stored (build.json too) before the hook");
    assert.equal(hook.rows, 0, "no row written before the hook");
    const record = JSON.parse((await services.blobs.getBuffer(`${prefix}build.json`)).toString()) as { artifacts: { key: string }[] };
    assert.deepEqual(record.artifacts.map((a) => a.key), listed, "build.json: key order, not completion order");
    assert.ok(puts.indexOf(`${prefix}pack/hooked.tar.gz`) > puts.indexOf(`${prefix}oci/image.oci.tar`), "pack was stored last");
    assert.match(log, new RegExp(`oci: published ${reference.replace(/[.]/g, "\\.")}$`, "m"));
    assert.match(log, /published 6 artifacts to .* and registry\.example\.org\/team\/hooked@sha256:[0-9a-f]{64}; succeeded/);
    assert.deepEqual((await store.listArtifacts(result.build!.id)).map((a) => a.key).sort(), [...listed, `${prefix}build.json`, `${prefix}log/build.log`].sort());
    assert.deepEqual(keys.sort(), [...listed, `${prefix}build.json`, `${prefix}log/build.log`].sort());
  });

  test("a failing afterStored fails the build and removes every object it stored", async () => {
    const oci: ArtifactMaker = {
      ...quickMaker("oci", 0, "image.oci.tar"),
      afterStored: () => Promise.reject(new InfraError("oci.registry-unreachable", "cannot reach the registry", { hint: "check oci.push" })),
    };
    const { result, log, keys, prefix } = await withMakers({ pack: quickMaker("pack", 0), oci }, () => buildNew("hookfails"));
    assert.equal(result.state, "failed");
    assert.equal(result.build?.error, "oci artifact: cannot reach the registry (check oci.push)");
    assert.match(log, /FAILED: oci artifact: cannot reach the registry/);
    assert.ok(puts.includes(`${prefix}build.json`), "everything had been stored");
    assert.deepEqual(keys, [`${prefix}log/build.log`], "and was removed");
    assert.deepEqual((await store.listArtifacts(result.build!.id)).map((a) => a.kind), ["log"]);
    assert.equal(existsSync(buildWorkDir(services.layout, result.build!.id)), false);
  });

  test("the real OCI maker: a build that succeeds pushes its image after storing it; one that fails pushes no tag", { skip: toolMissing("docker-registry", "skopeo") }, async () => {
    const registry = await startRegistry();
    try {
      const oci = { push: `${registry.host}/condaops`, credentials: [], insecureRegistries: [registry.host] };
      const withPush: Partial<BuildServices> = { config: { ...services.config, oci } };
      const tagOf = (name: string, sha: string) => `docker://${registry.host}/condaops/team/${name}:${sha}`;

      const ok = await withMakers({ pack: quickMaker("pack", 0) }, () => buildNew("pushed", withPush));
      assert.equal(ok.result.state, "succeeded", ok.result.error);
      const digest = new RegExp(`^\\S+ oci: published (${registry.host.replace(/[.]/g, "\\.")}/condaops/team/pushed@sha256:[0-9a-f]{64})$`, "m").exec(ok.log)?.[1];
      assert.ok(digest, ok.log);
      assert.match(ok.log, /published \d+ artifacts to .* and \S+@sha256:[0-9a-f]{64}; succeeded/);
      const storedAt = ok.log.indexOf("oci/image.oci.tar (");
      assert.ok(storedAt > 0 && storedAt < ok.log.indexOf("oci: pushed "), "stored first, pushed after");
      const inspected = JSON.parse(execFileSync("skopeo", ["inspect", "--tls-verify=false", tagOf("pushed", ok.result.commit)], { encoding: "utf8" })) as { Digest: string };
      assert.equal(`${registry.host}/condaops/team/pushed@${inspected.Digest}`, digest);
      execFileSync("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${digest}`, `dir:${join(work, "pulled")}`]);

      // build.json cannot be stored: the image was made but is never pushed.
      const failing: Partial<BuildServices> = {
        ...withPush,
        blobs: {
          ...services.blobs,
          location: services.blobs.location,
          put: async (key, body) => {
            if (key.endsWith("/build.json")) throw new InfraError("storage.io", `cannot write ${key}: disk full`);
            return services.blobs.put(key, body);
          },
        },
      };
      const bad = await withMakers({ pack: quickMaker("pack", 0) }, () => buildNew("notpushed", failing));
      assert.equal(bad.result.state, "failed");
      assert.match(bad.result.error ?? "", /disk full/);
      assert.match(bad.log, /oci: image sha256:[0-9a-f]{64}/, "the image was made");
      assert.doesNotMatch(bad.log, /oci: pushed|oci: published/);
      const r = spawnSync("skopeo", ["inspect", "--tls-verify=false", tagOf("notpushed", bad.result.commit)], { encoding: "utf8" });
      assert.notEqual(r.status, 0, "no tag of the failed build");
      assert.deepEqual(bad.keys, [`${bad.prefix}log/build.log`]);
    } finally {
      await registry.stop();
    }
  });
});
