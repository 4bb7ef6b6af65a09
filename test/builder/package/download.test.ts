import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { downloadPackage } from "../../../src/builder/package/download.ts";
import type { ChannelCredential } from "../../../src/config/types.ts";
import { InfraError, InputError } from "../../../src/errors.ts";
import { basicAuth, buildChannel, serveChannels } from "../../fixtures/channel.ts";
import type { ChannelRecord, ChannelServer } from "../../fixtures/channel.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("condaops-download-");
let server: ChannelServer;
let rec: ChannelRecord;
let bytes: Buffer;
let seq = 0;
const dest = (): string => join(tmp, "out", `f${seq++}.conda`);
const want = (): { sha256: string; md5: string; size: number } => ({ sha256: rec.record.sha256, md5: rec.record.md5, size: rec.record.size });
const TOKEN = "tk-0123456789abcdef";
const PASSWORD = "s3cret-pw-42";

before(async () => {
  // A package big enough to be cut in the middle (incompressible).
  const noise = Array.from({ length: 2048 }, (_, i) => createHash("sha256").update(String(i)).digest("hex")).join("\n");
  const def = { name: "dl", version: "1.0", subdir: "noarch", noarch: "generic" as const, files: [{ path: "share/dl/noise.txt", content: noise }] };
  for (const ch of ["plain", "tokened", "private"]) [rec] = (await buildChannel(join(tmp, "channels", ch), [def], { format: "conda", replace: true })).filter((r) => r.record.name === "dl") as [ChannelRecord];
  bytes = await readFile(join(tmp, "channels", "plain", "noarch", rec.filename));
  server = await serveChannels(join(tmp, "channels"));
});
after(() => server.close());

const url = (channel = "plain"): string => `${server.url}/${channel}/noarch/${rec.filename}`;
const requestsFor = (since: number, path = `/noarch/${rec.filename}`) => server.requests.slice(since).filter((r) => r.url.endsWith(path));
const leftovers = async (): Promise<string[]> => (await readdir(join(tmp, "out")).catch(() => [] as string[])).filter((n) => n.endsWith(".part"));

test("a download is verified and renamed into place; nothing else is left", async () => {
  const d = dest();
  let reported = 0;
  const r = await downloadPackage(url(), d, want(), { onBytes: (n) => (reported += n) });
  assert.deepEqual({ sha256: r.sha256, md5: r.md5, size: r.size }, want());
  assert.deepEqual(await readFile(d), bytes);
  assert.equal(reported, bytes.length);
  assert.deepEqual(await leftovers(), []);
});

test("a sha256 that does not match the lock is an input error, and the file is deleted", async () => {
  const d = dest();
  await assert.rejects(downloadPackage(url(), d, { ...want(), sha256: "0".repeat(64) }), (e: unknown) => {
    assert.ok(e instanceof InputError && e.code === "package.checksum", String(e));
    assert.match(e.message, /sha256 [0-9a-f]{64} does not match the lock's 0{64}: the package changed on the server or the download was corrupted/);
    assert.ok(e.message.includes(url()));
    return true;
  });
  assert.equal(existsSync(d), false);
  assert.deepEqual(await leftovers(), []);
  // md5 is checked when the lock has no sha256; a wrong size stops the download early.
  await assert.rejects(downloadPackage(url(), dest(), { md5: "0".repeat(32), size: bytes.length }), /md5 .* does not match the lock's/);
  await assert.rejects(downloadPackage(url(), dest(), { ...want(), size: 100 }), (e: unknown) => e instanceof InputError && /more than the lock's 100 bytes/.test(e.message));
  await assert.rejects(downloadPackage(url(), dest(), {}), (e: unknown) => e instanceof InputError && /neither a sha256 nor an md5/.test(e.message));
  assert.deepEqual(await leftovers(), []);
});

test("a download cut off midway is retried (the fixture server ignores Range: it is sent again whole)", async () => {
  server.hook(`/plain/noarch/${rec.filename}`, { kind: "truncate", bytes: 30_000, times: 1 });
  const mark = server.requests.length;
  const d = dest();
  const r = await downloadPackage(url(), d, want());
  assert.deepEqual(await readFile(d), bytes);
  const reqs = requestsFor(mark);
  assert.equal(reqs.length, 2);
  assert.equal(reqs[0]?.headers.range, undefined);
  // fetch drops bytes it had queued but not handed over when the connection breaks, so the part may hold fewer.
  assert.match(reqs[1]?.headers.range ?? "bytes=0-", /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(reqs[1]?.headers.range ?? "0")?.[0]) <= 30_000);
  assert.equal(r.resumedFrom, 0, "answered 200: downloaded from the start");
  server.clearHooks();
});

/** A server with Range support whose first answer is cut after `cut` bytes, when given. */
async function rangeServer(body: Buffer, cut?: number): Promise<{ url: string; headers: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const headers: IncomingHttpHeaders[] = [];
  const srv = createServer((req, res) => {
    headers.push(req.headers);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (headers.length === 1 && cut !== undefined) {
      res.writeHead(200, { "content-length": String(body.length) });
      // Let the client take the bytes before the connection breaks (fetch drops what it has queued).
      res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 150));
    } else if (m) {
      const start = Number(m[1]);
      res.writeHead(206, { "content-length": String(body.length - start), "content-range": `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
    } else res.writeHead(200, { "content-length": String(body.length) }).end(body);
  });
  await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/pkg/${rec.filename}`,
    headers,
    close: () => new Promise((ok) => { srv.close(() => ok()); srv.closeAllConnections(); }),
  };
}

test("a download cut off midway resumes with a Range request; a server answering 206 sends only the missing bytes", async () => {
  const srv = await rangeServer(bytes, 7000);
  try {
    const d = dest();
    let reported = 0;
    const r = await downloadPackage(srv.url, d, want(), { onBytes: (n) => (reported += n) });
    assert.equal(r.resumedFrom, 7000);
    assert.deepEqual(await readFile(d), bytes);
    assert.deepEqual(srv.headers.map((h) => h.range), [undefined, "bytes=7000-"]);
    assert.equal(reported, bytes.length);
  } finally {
    await srv.close();
  }
});

test("a .part left by a crashed process is resumed, or verified without a request when complete", async () => {
  const srv = await rangeServer(bytes);
  try {
    const d = dest();
    await writeFile(`${d}.part`, bytes.subarray(0, 9000));
    const r = await downloadPackage(srv.url, d, want());
    assert.equal(r.resumedFrom, 9000);
    assert.equal(srv.headers.at(-1)?.range, "bytes=9000-");
    assert.deepEqual(await readFile(d), bytes);

    const whole = dest();
    await writeFile(`${whole}.part`, bytes);
    const before = srv.headers.length;
    const again = await downloadPackage(srv.url, whole, want());
    assert.equal(again.requests, 0);
    assert.equal(srv.headers.length, before);

    // A part from another file: the resumed result fails its checksum, and is downloaded again in full.
    const other = dest();
    await writeFile(`${other}.part`, Buffer.alloc(9000, 0x41));
    const fresh = await downloadPackage(srv.url, other, want());
    assert.equal(fresh.resumedFrom, 0);
    assert.deepEqual(await readFile(other), bytes);
    assert.deepEqual(srv.headers.slice(-2).map((h) => h.range), ["bytes=9000-", undefined]);
  } finally {
    await srv.close();
  }
});

test("5xx answers are retried with backoff; 4xx are not", async () => {
  server.hook(`/plain/noarch/${rec.filename}`, { kind: "fail", status: 503, times: 2 });
  let mark = server.requests.length;
  const lines: string[] = [];
  await downloadPackage(url(), dest(), want(), { log: (l) => lines.push(l) });
  assert.equal(requestsFor(mark).length, 3);
  assert.equal(lines.filter((l) => /HTTP 503; retrying/.test(l)).length, 2);
  server.clearHooks();

  server.hook(`/plain/noarch/${rec.filename}`, { kind: "fail", status: 500 });
  mark = server.requests.length;
  await assert.rejects(downloadPackage(url(), dest(), want(), { attempts: 2 }), (e: unknown) => e instanceof InfraError && e.code === "package.download" && /HTTP 500 \(after 2 attempts\)/.test(e.message) && e.message.includes(url()));
  assert.equal(requestsFor(mark).length, 2);
  server.clearHooks();

  mark = server.requests.length;
  const missing = `${server.url}/plain/noarch/gone-1.0-0.conda`;
  await assert.rejects(downloadPackage(missing, dest(), want()), (e: unknown) => e instanceof InfraError && e.exitCode === 3 && e.code === "package.not-found" && e.message.includes(missing) && /404/.test(e.message));
  assert.equal(requestsFor(mark, "/gone-1.0-0.conda").length, 1, "a 404 is not retried");
  assert.deepEqual(await leftovers(), []);
});

test("a server that never answers times out, and the error says so", async () => {
  server.hook(`/plain/noarch/${rec.filename}`, { kind: "hang" });
  await assert.rejects(downloadPackage(url(), dest(), want(), { timeoutMs: 200, attempts: 2 }), (e: unknown) => e instanceof InfraError && /no data for 0\.2 s \(after 2 attempts\)/.test(e.message));
  server.clearHooks();
});

test("channel credentials are applied (token in the path, basic auth) and never appear in errors or logs", async () => {
  server.hook("/tokened/", { kind: "token", token: TOKEN });
  server.hook("/private/", { kind: "auth", authorization: basicAuth("ada", PASSWORD) });
  const creds: ChannelCredential[] = [
    { prefix: `${server.url}/tokened`, token: TOKEN, bearer: false },
    { prefix: `${server.url}/private`, username: "ada", password: PASSWORD, bearer: false },
  ];
  const mark = server.requests.length;
  await downloadPackage(url("tokened"), dest(), want(), { credentials: creds });
  await downloadPackage(url("private"), dest(), want(), { credentials: creds });
  assert.ok(server.requests.slice(mark).some((r) => r.url.startsWith(`/t/${TOKEN}/tokened/`)));

  const wrong: ChannelCredential[] = [
    { prefix: `${server.url}/tokened`, token: "tk-wrong-wrong-wrong", bearer: false },
    { prefix: `${server.url}/private`, username: "ada", password: "wrong-password", bearer: false },
  ];
  const lines: string[] = [];
  for (const ch of ["tokened", "private"]) {
    await assert.rejects(downloadPackage(url(ch), dest(), want(), { credentials: wrong, log: (l) => lines.push(l) }), (e: unknown) => {
      assert.ok(e instanceof InfraError && e.code === "package.denied", String(e));
      assert.match(e.message, /access denied \(HTTP 401\)/);
      assert.match(e.hint ?? "", /credentials were refused/);
      return true;
    });
  }
  server.clearHooks();
  server.hook(`/tokened/noarch/${rec.filename}`, { kind: "fail", status: 502 });
  await assert.rejects(downloadPackage(url("tokened"), dest(), want(), { credentials: creds, attempts: 2, log: (l) => lines.push(l) }), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    for (const secret of [TOKEN, PASSWORD, "tk-wrong-wrong-wrong", "wrong-password"]) assert.ok(!JSON.stringify({ m: e.message, h: e.hint, l: lines }).includes(secret), secret);
    return true;
  });
  server.clearHooks();
});

test("file:// URLs are copied through the same checks", async () => {
  const src = join(tmp, "channels", "plain", "noarch", rec.filename);
  const d = dest();
  const r = await downloadPackage(pathToFileURL(src).href, d, want());
  assert.equal(r.requests, 0);
  assert.deepEqual(await readFile(d), bytes);
  await assert.rejects(downloadPackage(pathToFileURL(src).href, dest(), { ...want(), sha256: "f".repeat(64) }), (e: unknown) => e instanceof InputError && e.code === "package.checksum");
  await assert.rejects(downloadPackage(pathToFileURL(join(tmp, "nope.conda")).href, dest(), want()), (e: unknown) => e instanceof InfraError && e.code === "package.not-found");
  assert.deepEqual(await leftovers(), []);
});
