import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRepodataGateway } from "../../../src/builder/channels/repodata-gateway.ts";
import { InfraError } from "../../../src/errors.ts";
import { buildChannel, basicAuth, serveChannels } from "../../fixtures/channel.ts";
import type { ChannelServer } from "../../fixtures/channel.ts";

let root: string;
let server: ChannelServer;
const pkgs = [
  { name: "a", version: "1.0", subdir: "linux-64", timestamp: Date.parse("2024-01-01") },
  { name: "b", version: "2.0", subdir: "noarch", noarch: "generic" as const, timestamp: Date.parse("2024-02-01") },
];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "condaops-gw-"));
  await buildChannel(join(root, "plain"), pkgs, { subdirs: ["linux-64"] });
  await buildChannel(join(root, "zst"), pkgs, { subdirs: ["linux-64"], zst: true });
  await buildChannel(join(root, "bz2"), pkgs, { subdirs: ["linux-64"], bz2: true });
  await rm(join(root, "bz2", "noarch", "repodata.json")); // only the .bz2 variant left
  await buildChannel(join(root, "private"), pkgs, { subdirs: ["linux-64"] });
  await buildChannel(join(root, "tokened"), pkgs, { subdirs: ["linux-64"] });
  await buildChannel(join(root, "noarch-only"), [pkgs[1] as (typeof pkgs)[number]]);
  await mkdir(join(root, "broken", "noarch"), { recursive: true });
  await writeFile(join(root, "broken", "noarch", "repodata.json"), '{"packages": {"x');
  server = await serveChannels(root, {
    hooks: [
      { match: "/private/", hook: { kind: "auth", authorization: basicAuth("ada", "s3cret-pw") } },
      { match: "/tokened/", hook: { kind: "token", token: "tk-0123456789" } },
    ],
  });
});
after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function cacheDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "condaops-gw-cache-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

const repodataRequests = (since: number) => server.requests.slice(since).filter((r) => r.url.includes("repodata"));

test("a second gateway on the same cache downloads nothing: the server answers 304", async (t) => {
  const cache = await cacheDir(t);
  const first = await createRepodataGateway({ cacheDir: cache }).subdir(`${server.url}/plain`, "linux-64");
  assert.equal(first.source, "download");
  assert.ok(first.bytes > 0);
  assert.deepEqual(first.repodata.records.map((r) => r.name), ["a"]);
  const mark = server.requests.length;
  const second = await createRepodataGateway({ cacheDir: cache }).subdir(`${server.url}/plain`, "linux-64");
  assert.equal(second.source, "not-modified");
  assert.equal(second.bytes, 0);
  assert.deepEqual(second.repodata.records, first.repodata.records);
  const reqs = repodataRequests(mark);
  assert.equal(reqs.length, 1, "the variant that worked is asked for first, once");
  assert.ok(reqs[0]?.headers["if-none-match"], "a conditional request");
  const third = await createRepodataGateway({ cacheDir: cache });
  await third.subdir(`${server.url}/plain`, "linux-64");
  assert.equal((await third.subdir(`${server.url}/plain`, "linux-64")).source, "memory", "one gateway reads a subdir once");
});

test("the compressed variants are preferred and decoded: .zst first, .bz2 as the fallback", async (t) => {
  const cache = await cacheDir(t);
  const gw = createRepodataGateway({ cacheDir: cache });
  const mark = server.requests.length;
  const zst = await gw.subdir(`${server.url}/zst`, "linux-64");
  assert.deepEqual(zst.repodata.records.map((r) => r.name), ["a"]);
  assert.deepEqual(repodataRequests(mark).map((r) => r.url), ["/zst/linux-64/repodata.json.zst"]);
  const bz2 = await gw.subdir(`${server.url}/bz2`, "noarch");
  assert.deepEqual(bz2.repodata.records.map((r) => r.name), ["b"]);
});

test("a channel without noarch is not a channel: exit 3 naming channel and subdir", async (t) => {
  const gw = createRepodataGateway({ cacheDir: await cacheDir(t) });
  await assert.rejects(gw.subdir(`${server.url}/no-such-channel`, "noarch"), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && e.message.includes(`${server.url}/no-such-channel has no noarch/repodata.json`));
});

test("a missing platform subdir is empty, with a warning", async (t) => {
  const warnings: string[] = [];
  const gw = createRepodataGateway({ cacheDir: await cacheDir(t), log: (l) => warnings.push(l) });
  const r = await gw.subdir(`${server.url}/noarch-only`, "osx-arm64");
  assert.deepEqual(r.repodata.records, []);
  assert.match(warnings.join("\n"), /noarch-only has no osx-arm64 subdir/);
});

test("corrupt, truncated and failing responses are exit-3 errors naming channel and subdir", async (t) => {
  const gw = createRepodataGateway({ cacheDir: await cacheDir(t), attempts: 2 });
  await assert.rejects(gw.subdir(`${server.url}/broken`, "noarch"), (e: unknown) => e instanceof InfraError && /broken\/noarch is not valid JSON/.test(e.message));
  // Hooks limited by `times`, so the credential hooks of the other tests stay in place.
  server.hook("/plain/noarch/repodata.json", { kind: "truncate", bytes: 10, times: 2 });
  await assert.rejects(createRepodataGateway({ cacheDir: await cacheDir(t), attempts: 2 }).subdir(`${server.url}/plain`, "noarch"), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && /plain\/noarch/.test(e.message));
  server.hook("/plain/linux-64/", { kind: "fail", status: 503, times: 2 });
  const mark = server.requests.length;
  await assert.rejects(createRepodataGateway({ cacheDir: await cacheDir(t), attempts: 2 }).subdir(`${server.url}/plain`, "linux-64"), (e: unknown) => e instanceof InfraError && /cannot download .*plain\/linux-64\/repodata\.json\.zst: HTTP 503 \(after 2 attempts\)/.test(e.message));
  assert.equal(repodataRequests(mark).length, 2, "retried");
});

test("unreachable servers are exit-3 errors", async (t) => {
  const gw = createRepodataGateway({ cacheDir: await cacheDir(t), attempts: 1, timeoutMs: 2000 });
  await assert.rejects(gw.subdir("http://127.0.0.1:9/nothing", "noarch"), (e: unknown) => e instanceof InfraError && e.code === "channel.unreachable");
});

test("credentials: basic auth and tokens are sent, and never appear in errors or records", async (t) => {
  const cache = await cacheDir(t);
  const denied = createRepodataGateway({ cacheDir: cache });
  await assert.rejects(denied.subdir(`${server.url}/private`, "noarch"), (e: unknown) => e instanceof InfraError && /access denied \(HTTP 401\)/.test(e.message) && /channels\.credentials/.test(e.hint ?? ""));
  const creds = [
    { prefix: `${server.url}/private`, bearer: false, username: "ada", password: "s3cret-pw" },
    { prefix: `${server.url}/tokened`, bearer: false, token: "tk-0123456789" },
  ];
  const gw = createRepodataGateway({ cacheDir: cache, credentials: creds });
  assert.deepEqual((await gw.subdir(`${server.url}/private`, "noarch")).repodata.records.map((r) => r.name), ["b"]);
  assert.deepEqual((await gw.subdir(`${server.url}/tokened`, "noarch")).repodata.records.map((r) => r.name), ["b"]);
  const wrong = createRepodataGateway({ cacheDir: cache, credentials: [{ prefix: `${server.url}/tokened`, bearer: false, token: "tk-wrong-secret" }] });
  await assert.rejects(wrong.subdir(`${server.url}/tokened`, "linux-64"), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /tk-wrong-secret/);
    assert.match(e.message, /access denied/);
    return true;
  });
  const failing = createRepodataGateway({ cacheDir: await cacheDir(t), attempts: 1, timeoutMs: 1000, credentials: [{ prefix: "http://127.0.0.1:9", bearer: false, token: "tk-leaky-token" }] });
  await assert.rejects(failing.subdir("http://127.0.0.1:9/ch", "noarch"), (e: unknown) => e instanceof InfraError && !e.message.includes("tk-leaky-token") && e.message.includes("/t/***/") === false);
});
