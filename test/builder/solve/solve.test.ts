import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { solveEnvironment } from "../../../src/builder/solve/solve.ts";
import type { SolveOptions } from "../../../src/builder/solve/solve.ts";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import type { Lock } from "../../../src/builder/lock/types.ts";
import { DEFAULT_VIRTUAL_PACKAGES } from "../../../src/config/index.ts";
import { InputError } from "../../../src/errors.ts";
import { specHash } from "../../../src/spec/spec-hash.ts";
import { sharedUniverse } from "../../fixtures/universe.ts";
import type { Universe } from "../../fixtures/universe.ts";
import { serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";
import { effectiveSpec } from "../../support/effective.ts";
import type { EffectiveSpec } from "../../../src/spec/types.ts";

let universe: Universe;
let server: ChannelServer;
let cache: string;

before(async () => {
  universe = await sharedUniverse();
  server = await serveChannels(universe.dir);
  cache = await mkdtemp(join(tmpdir(), "condaops-solve-"));
});
after(async () => {
  await server.close();
  await rm(cache, { recursive: true, force: true });
});

async function solve(spec: EffectiveSpec, opts: Partial<SolveOptions> = {}): Promise<Lock> {
  const gateway = createRepodataGateway({ cacheDir: cache });
  return (await solveEnvironment(spec, { gateway, virtualPackages: DEFAULT_VIRTUAL_PACKAGES, ...opts })).lock;
}
const versions = (lock: Lock, platform = "linux-64") => Object.fromEntries(lock.packages.filter((p) => p.platform === platform).map((p) => [p.name, p.version]));

test("a solve locks every package with its real URL, hashes and dependencies", async () => {
  const spec = effectiveSpec(server.url, ["pandas"]);
  const lock = await solve(spec);
  const v = versions(lock);
  assert.equal(v.pandas, "2.2.2");
  assert.equal(v.numpy, "2.0.0");
  assert.ok(v.python);
  assert.ok(!Object.keys(v).some((n) => n.startsWith("__")), "virtual packages are not locked");
  const pandas = lock.packages.find((p) => p.name === "pandas");
  const entry = universe.packages.find((p) => p.channel === "conda-forge" && p.filename === pandas?.filename);
  assert.equal(pandas?.url, `${server.url}/conda-forge/linux-64/${pandas?.filename}`);
  assert.equal(pandas?.sha256, entry?.sha256);
  assert.match(pandas?.md5 ?? "", /^[0-9a-f]{32}$/);
  assert.deepEqual(lock.channels, [`${server.url}/conda-forge`]);
  assert.deepEqual(lock.contentHash, { "linux-64": specHash(spec) });
});

test("as-of: records published after the date are not seen", async () => {
  const early = versions(await solve(effectiveSpec(server.url, ["pandas"]), { asOf: new Date("2024-01-01T00:00:00Z") }));
  assert.equal(early.pandas, "2.1.4");
  assert.equal(early.numpy, "1.24.4", "numpy 1.26.4 was published in February 2024");
  const mid = versions(await solve(effectiveSpec(server.url, ["pandas"]), { asOf: new Date("2024-06-18T00:00:00Z") }));
  assert.equal(mid.pandas, "2.1.4", "pandas 2.2.2 came on 2024-06-20");
  assert.equal(mid.numpy, "1.26.4", "pandas 2.1.4 needs numpy <2");
  const lock = await solve(effectiveSpec(server.url, ["pandas"]), { asOf: new Date("2024-01-01T00:00:00Z") });
  assert.equal(lock.metadata["condaops.as-of"], "2024-01-01T00:00:00.000Z");
});

test("minimal change: adding scipy keeps python and numpy at their locked versions", async () => {
  const before = await solve(effectiveSpec(server.url, ["python", "numpy"]), { asOf: new Date("2024-03-01T00:00:00Z") });
  const b = versions(before);
  assert.equal(b.numpy, "1.26.4");
  const withScipy = versions(await solve(effectiveSpec(server.url, ["python", "numpy", "scipy"]), { previous: before }));
  assert.equal(withScipy.numpy, b.numpy);
  assert.equal(withScipy.python, b.python);
  assert.ok(withScipy.scipy);
  const fresh = versions(await solve(effectiveSpec(server.url, ["python", "numpy", "scipy"])));
  assert.notEqual(fresh.numpy, b.numpy, "without the previous lock the same spec upgrades numpy: the test is meaningful");
});

test("minimal change yields where the spec now forbids the locked version", async () => {
  const before = await solve(effectiveSpec(server.url, ["numpy"]), { asOf: new Date("2024-03-01T00:00:00Z") });
  const after = versions(await solve(effectiveSpec(server.url, ["numpy >=2"]), { previous: before }));
  assert.equal(after.numpy, "2.0.0");
});

test("unsatisfiable specs: exit 1 with the solver's explanation, no loopback URLs", async () => {
  await assert.rejects(solve(effectiveSpec(server.url, ["numpy >=3"])), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.exitCode, 1);
    assert.equal(e.code, "solve.unsatisfiable");
    assert.match(e.message, /cannot be solved for linux-64/);
    assert.match(e.message, /numpy/);
    assert.doesNotMatch(e.message, /127\.0\.0\.1:\d+\/c\d/);
    return true;
  });
  // pandas 2.2.2 constrains pyarrow >=10.0.1: constrains take part in the solve.
  await assert.rejects(solve(effectiveSpec(server.url, ["pandas 2.2.*", "pyarrow <10"])), (e: unknown) => e instanceof InputError && /pyarrow/.test(e.message));
});

test("several platforms are solved, each with its own packages", async () => {
  const lock = await solve(effectiveSpec(server.url, ["numpy", "requests"], { platforms: ["osx-arm64", "linux-64"] }));
  assert.deepEqual(lock.platforms, ["linux-64", "osx-arm64"]);
  const osx = lock.packages.filter((p) => p.platform === "osx-arm64");
  assert.ok(osx.some((p) => p.name === "numpy" && p.subdir === "osx-arm64"));
  assert.ok(osx.some((p) => p.name === "requests" && p.subdir === "noarch"), "noarch packages are locked per platform");
  assert.ok(lock.packages.some((p) => p.platform === "linux-64" && p.name === "numpy" && p.subdir === "linux-64"));
});

test("CONDA_OVERRIDE_CUDA sets the __cuda virtual package", async () => {
  await assert.rejects(solve(effectiveSpec(server.url, ["cupy"])), (e: unknown) => e instanceof InputError && /__cuda/.test(e.message));
  const lock = await solve(effectiveSpec(server.url, ["cupy"], { variables: { CONDA_OVERRIDE_CUDA: "12" } }));
  assert.equal(versions(lock).cupy, "13.2.0");
  await assert.rejects(solve(effectiveSpec(server.url, ["cupy"], { variables: { CONDA_OVERRIDE_CUDA: "11.8" } })), InputError, "__cuda >=12 is not met by 11.8");
});

test("blocked packages and pins on unlisted names are enforced at solve time", async () => {
  const blocked = versions(await solve(effectiveSpec(server.url, ["pandas"], { blocked: ["numpy >=2"] })));
  assert.equal(blocked.pandas, "2.2.2");
  assert.equal(blocked.numpy, "1.26.4", "a dependency cannot pull in a blocked version");
  const pinned = versions(await solve(effectiveSpec(server.url, ["pandas"], { constraints: ["numpy 1.24.*"] })));
  assert.equal(pinned.numpy, "1.24.4");
  await assert.rejects(solve(effectiveSpec(server.url, ["numpy"], { blocked: ["numpy"] })), InputError);
});

test("channel order is priority: a channel listed first wins for the names it has", async () => {
  const cfFirst = versions(await solve(effectiveSpec(server.url, ["requests"], { channels: [`${server.url}/conda-forge`, `${server.url}/extra`] })));
  assert.equal(cfFirst.requests, "2.32.3");
  const extraFirst = await solve(effectiveSpec(server.url, ["requests", "python"], { channels: [`${server.url}/extra`, `${server.url}/conda-forge`] }));
  assert.equal(versions(extraFirst).requests, "2.99.0");
  assert.equal(extraFirst.packages.find((p) => p.name === "requests")?.channel, `${server.url}/extra`);
  const pinnedChannel = versions(await solve(effectiveSpec(server.url, ["conda-forge::requests"], { channels: [`${server.url}/extra`, `${server.url}/conda-forge`] })));
  assert.equal(pinnedChannel.requests, "2.32.3", "channel::name takes that channel's package");
});

test("a mirror alias replaces the spec's alias; file:// channels are read in place", async () => {
  const spec = effectiveSpec("https://conda.anaconda.org", ["requests"]);
  const viaMirror = await solve(spec, { channelAlias: server.url });
  assert.equal(viaMirror.packages.find((p) => p.name === "requests")?.url.startsWith(`${server.url}/conda-forge/noarch/`), true);
  const viaFile = await solve(spec, { channelAlias: pathToFileURL(universe.dir).href });
  assert.equal(versions(viaFile).requests, "2.32.3");
});
