// The registry client against a recording fake that speaks the distribution wire format: what a
// real registry does not do on demand (serve wrong content, send credentials' realm elsewhere,
// fail transiently, echo secrets) is checked here.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parseChallenges } from "../../../src/builder/oci/registry-auth.ts";
import { RegistryClient } from "../../../src/builder/oci/registry-client.ts";
import { InfraError, InputError, isCondaopsError } from "../../../src/errors.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
let server: Server;
let host: string;
let handler: Handler = (_req, res) => res.writeHead(500).end();
const requests: { method: string; url: string; authorization?: string }[] = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
      handler(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const digestOf = (b: Buffer | string): string => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const MANIFEST = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf("{}"), size: 2 }, layers: [] }));
const client = (extra: ConstructorParameters<typeof RegistryClient>[1] = {}): RegistryClient => new RegistryClient(host, { insecureRegistries: [host], ...extra });

test("WWW-Authenticate challenges are parsed as RFC 7235 says", () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"'), [
    { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/ubuntu:pull" } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="a \\"quoted\\" realm", Bearer realm=https://x/t'), [
    { scheme: "basic", params: { realm: 'a "quoted" realm' } },
    { scheme: "bearer", params: { realm: "https://x/t" } },
  ]);
  assert.deepEqual(parseChallenges(""), []);
});

test("a manifest is checked against the digest it was asked by and the digest the registry announces", async () => {
  handler = (_req, res) => res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(MANIFEST);
  const ok = await client().manifest("team/base", digestOf(MANIFEST));
  assert.equal(ok.digest, digestOf(MANIFEST));
  assert.equal(ok.mediaType, "application/vnd.oci.image.manifest.v1+json");
  await assert.rejects(client().manifest("team/base", digestOf("something else")), (e: unknown) => e instanceof InputError && e.code === "oci.blob-digest");
  handler = (_req, res) => res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "docker-content-digest": digestOf("other") }).end(MANIFEST);
  await assert.rejects(client().manifest("team/base", "latest"), (e: unknown) => e instanceof InputError && e.code === "oci.blob-digest");
  handler = (_req, res) => res.writeHead(200).end(Buffer.alloc(5 * 1024 * 1024, 0x20));
  await assert.rejects(client().manifest("team/base", "big"), (e: unknown) => e instanceof InputError && e.code === "oci.too-large");
});

test("a blob whose content does not match its descriptor is refused", async () => {
  handler = (_req, res) => res.writeHead(200).end("{ }");
  await assert.rejects(client().blobBytes("team/base", { mediaType: "x", digest: digestOf("{}"), size: 2 }, "config"), (e: unknown) => e instanceof InputError && /config/.test(e.message));
  handler = (_req, res) => res.writeHead(404, { "content-type": "application/json" }).end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
  await assert.rejects(client().blobBytes("team/base", { mediaType: "x", digest: digestOf("{}"), size: 2 }, "config"), (e: unknown) => e instanceof InputError && e.code === "oci.missing-blob");
});

test("reads are retried on 5xx; registry error codes are shown, secrets in them masked", async () => {
  let calls = 0;
  handler = (_req, res) => (++calls < 3 ? res.writeHead(503).end() : res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(MANIFEST));
  assert.equal((await client().manifest("team/base", "1")).digest, digestOf(MANIFEST));
  assert.equal(calls, 3);
  handler = (_req, res) => res.writeHead(400, { "content-type": "application/json" }).end('{"errors":[{"code":"MANIFEST_INVALID","message":"bad password Hunter2-Secret given"}]}');
  await assert.rejects(client({ credentials: [{ host, username: "u", password: "Hunter2-Secret" }] }).putManifest("team/x", "t", "application/vnd.oci.image.manifest.v1+json", MANIFEST), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.match(e.message, /MANIFEST_INVALID/);
    assert.ok(!e.message.includes("Hunter2-Secret"), e.message);
    return true;
  });
});

test("Bearer: an anonymous token without credentials, Basic credentials to the realm with them", async () => {
  const realm = `http://${host}/token`;
  handler = (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/token") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ access_token: `tok-${req.headers.authorization ? "user" : "anon"}` }));
    } else if (!req.headers.authorization?.startsWith("Bearer tok-")) {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${realm}",service="fake",scope="repository:team/base:pull"` }).end();
    } else {
      res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(MANIFEST);
    }
  };
  requests.length = 0;
  await client().manifest("team/base", "1");
  assert.deepEqual(
    requests.map((r) => [r.method, r.url.split("?")[0], r.authorization ?? null]),
    [
      ["GET", "/v2/team/base/manifests/1", null],
      ["GET", "/token", null],
      ["GET", "/v2/team/base/manifests/1", "Bearer tok-anon"],
    ],
  );
  assert.deepEqual(new URL(requests[1]?.url ?? "", "http://x").searchParams.getAll("scope"), ["repository:team/base:pull"]);
  requests.length = 0;
  await client({ credentials: [{ host, username: "u", password: "p" }] }).manifest("team/base", "1");
  assert.equal(requests[1]?.authorization, `Basic ${Buffer.from("u:p").toString("base64")}`);
  assert.equal(requests[2]?.authorization, "Bearer tok-user");
});

test("credentials never go to a plain-HTTP realm on another host", async () => {
  const port = host.split(":")[1];
  handler = (_req, res) => res.writeHead(401, { "www-authenticate": `Bearer realm="http://localhost:${port}/token",service="fake"` }).end();
  requests.length = 0;
  await assert.rejects(client({ credentials: [{ host, username: "u", password: "Secret-Pass" }] }).manifest("team/base", "1"), (e: unknown) => {
    assert.ok(isCondaopsError(e) && e.code === "oci.registry-auth" && /plain HTTP/.test(e.message));
    assert.ok(!e.format().includes("Secret-Pass"));
    return true;
  });
  assert.ok(!requests.some((r) => r.url.startsWith("/token")), "the realm was not asked");
});
