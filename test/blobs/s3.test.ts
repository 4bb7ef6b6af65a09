// S3-compatible storage: the storage contract against s3rver (an S3 server in-process, on
// 127.0.0.1) and, when TEST_S3_ENDPOINT names one, against a real server; then what only S3 has:
// multipart uploads seen on the wire, presigned URLs (for a public endpoint too), bucket creation,
// the build-log spool, retries of transient failures (faults injected in front of s3rver), secrets
// kept out of every error. s3rver does not check SigV4 signatures, so
// minio's signing is checked against AWS's published example and an independent implementation.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { inspect } from "node:util";
import { Client } from "minio";
import type { BucketItem } from "minio";
import { MAX_PRESIGN_SECONDS, createS3Storage } from "../../src/blobs/s3.ts";
import type { S3StorageConfig } from "../../src/blobs/s3.ts";
import type { BlobStorage } from "../../src/blobs/storage.ts";
import { InfraError, InputError, isCondaopsError } from "../../src/errors.ts";
import { download, sha256, storageContract } from "./storage-contract.ts";
import type { ContractSubject } from "./storage-contract.ts";

const MiB = 1024 * 1024;
const PART = 5 * MiB;
const REGION = "us-east-1";

// --- s3rver, in-process, behind a server that records every request -------------------------------

interface S3rverApp {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type S3rverClass = new (options: { silent: boolean; directory: string; resetOnClose?: boolean }) => S3rverApp;
const S3rver = createRequire(import.meta.url)("s3rver") as S3rverClass;

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The query as sent, undecoded. */
  rawQuery: string;
  host: string;
  length: number | undefined;
  /** The injected fault that answered instead of s3rver. */
  fault?: string;
}

/** An answer the recording server gives instead of s3rver's. */
interface Answer {
  label: string;
  answer: (req: IncomingMessage, res: ServerResponse) => void;
}
interface Fault extends Answer {
  when: (r: Recorded) => boolean;
  times: number;
  hits: number;
}
/** Faults in front of s3rver: each answers the first `times` requests `when` matches. */
const faults: Fault[] = [];
function inject(when: (r: Recorded) => boolean, times: number, answer: Answer): Fault {
  const fault = { ...answer, when, times, hits: 0 };
  faults.push(fault);
  return fault;
}
/** Runs `answer` once the request's body has been read, as a server answering a PUT does. */
const afterBody = (req: IncomingMessage, answer: () => void): void => {
  req.on("end", answer);
  req.resume();
};
/** An S3 error response: XML for the requests that have a body, MinIO's headers for HEAD. */
function s3Error(status: number, code: string): Answer {
  return {
    label: `${status} ${code}`,
    answer: (req, res) =>
      afterBody(req, () => {
        if (req.method === "HEAD") {
          res.writeHead(status, { "x-minio-error-code": code, "x-minio-error-desc": "injected" }).end();
          return;
        }
        res.writeHead(status, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected ${code}</Message><RequestId>fault</RequestId></Error>`);
      }),
  };
}
/** The connection dropped without an answer (ECONNRESET, "socket hang up", for the client). */
const reset: Answer = { label: "reset", answer: (req) => afterBody(req, () => req.socket.destroy()) };

let dataDir: string;
let server: Server;
let origin: string;
let port: number;
const requests: Recorded[] = [];

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const s = createServer(handler);
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}
const portOf = (s: Server): number => {
  const a = s.address();
  assert.ok(a !== null && typeof a === "object");
  return a.port;
};
const close = (s: Server): Promise<void> =>
  new Promise((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  });

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "condaops-s3rver-"));
  const app = new S3rver({ silent: true, directory: join(dataDir, "data") });
  const handle = app.callback();
  server = await listen((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const length = req.headers["content-length"];
    const recorded: Recorded = {
      method: req.method ?? "",
      path: decodeURIComponent(url.pathname),
      query: url.searchParams,
      rawQuery: url.search.slice(1),
      host: req.headers.host ?? "",
      length: length === undefined ? undefined : Number(length),
    };
    requests.push(recorded);
    const fault = faults.find((f) => f.hits < f.times && f.when(recorded));
    if (fault) {
      fault.hits++;
      recorded.fault = fault.label;
      fault.answer(req, res);
      return;
    }
    handle(req, res);
  });
  port = portOf(server);
  origin = `http://127.0.0.1:${port}`;
  await admin().makeBucket("contract", REGION);
});

after(async () => {
  if (server) await close(server);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A minio client of the test itself, outside the code under test. */
const admin = (): Client => new Client({ endPoint: "127.0.0.1", port, useSSL: false, accessKey: "S3RVER", secretKey: "S3RVER", region: REGION });

/** Object names in the bucket `contract` under `prefix`, as the test's own client sees them. */
function adminList(prefix: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const names: string[] = [];
    const stream = admin().listObjectsV2("contract", prefix, true);
    stream.on("data", (o: BucketItem) => {
      if (o.name !== undefined) names.push(o.name);
    });
    stream.on("error", reject);
    stream.on("end", () => resolve(names));
  });
}

let n = 0;
function s3Config(overrides: Partial<S3StorageConfig> = {}): S3StorageConfig {
  return { kind: "s3", endpoint: origin, bucket: "contract", region: REGION, prefix: `t${++n}`, accessKey: "S3RVER", secretKey: "S3RVER", pathStyle: true, createBucket: false, partSize: PART, ...overrides };
}

async function spoolDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "condaops-spool-"));
}

/** The parts the object was last uploaded in, from the request log: 1 for a plain PUT. */
function partsOnTheWire(bucket: string, name: string): number {
  const path = `/${bucket}/${name}`;
  const mine = requests.filter((r) => r.path === path && (r.method === "PUT" || r.method === "POST"));
  const lastStart = mine.findLastIndex((r) => (r.method === "POST" && r.query.has("uploads")) || (r.method === "PUT" && !r.query.has("uploadId")));
  const last = mine.slice(lastStart);
  if (last[0]?.method === "PUT") return 1;
  const parts = last.filter((r) => r.method === "PUT" && r.query.has("partNumber"));
  assert.ok(last.some((r) => r.method === "POST" && r.query.has("uploadId")), `the multipart upload of ${name} was completed`);
  return parts.length;
}

storageContract({
  name: "S3 (s3rver)",
  partSize: PART,
  listMangles: "s3rver 3.7 ignores encoding-type=url (its bucket controller says: currently unimplemented)",
  async make(): Promise<ContractSubject> {
    const config = s3Config();
    const spool = await spoolDir();
    return {
      storage: createS3Storage(config, { spoolDir: spool }),
      partsOf: async (key) => partsOnTheWire(config.bucket, `${config.prefix}/${key}`),
      cleanup: () => rm(spool, { recursive: true, force: true }),
    };
  },
});

// --- the same contract against a real server, when one is configured ------------------------------

const real = process.env.TEST_S3_ENDPOINT;
const missingReal = ["TEST_S3_ENDPOINT", "TEST_S3_BUCKET", "TEST_S3_ACCESS_KEY_ID", "TEST_S3_SECRET_ACCESS_KEY"].filter((v) => !process.env[v]);
storageContract({
  name: "S3 (TEST_S3_ENDPOINT)",
  partSize: PART,
  ...(missingReal.length > 0
    ? { skip: `set TEST_S3_ENDPOINT (with TEST_S3_BUCKET, TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, optional TEST_S3_REGION) to run this against a real S3 server (${missingReal.join(", ")} not set)` }
    : {}),
  async make(): Promise<ContractSubject> {
    const config: S3StorageConfig = {
      kind: "s3",
      endpoint: real as string,
      bucket: process.env.TEST_S3_BUCKET as string,
      region: process.env.TEST_S3_REGION || REGION,
      prefix: `condaops-test/${randomBytes(6).toString("hex")}`,
      accessKey: process.env.TEST_S3_ACCESS_KEY_ID as string,
      secretKey: process.env.TEST_S3_SECRET_ACCESS_KEY as string,
      ...(process.env.TEST_S3_SESSION_TOKEN ? { sessionToken: process.env.TEST_S3_SESSION_TOKEN } : {}),
      pathStyle: process.env.TEST_S3_PATH_STYLE !== "false",
      createBucket: false,
      partSize: PART,
    };
    const spool = await spoolDir();
    const storage = createS3Storage(config, { spoolDir: spool });
    const url = new URL(config.endpoint);
    const raw = new Client({
      endPoint: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      useSSL: url.protocol === "https:",
      region: config.region,
      pathStyle: config.pathStyle,
      accessKey: config.accessKey as string,
      secretKey: config.secretKey as string,
      ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
    });
    return {
      storage,
      // S3 and MinIO give a multipart object the ETag `<md5 of the parts' md5s>-<parts>`.
      partsOf: async (key) => Number(/-(\d+)$/.exec((await raw.statObject(config.bucket, `${config.prefix}/${key}`)).etag)?.[1] ?? 1),
      cleanup: async () => {
        for (const o of await storage.list("")) await storage.delete(o.key);
        await rm(spool, { recursive: true, force: true });
      },
    };
  },
});

// --- multipart on the wire ------------------------------------------------------------------------

test("S3: a large body goes as a multipart upload of part_size parts, each with its MD5; a small one as one PUT", async () => {
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: await spoolDir() });
  const body = randomBytes(2 * PART + 1000);
  const from = requests.length;
  await storage.put("m/big.bin", Readable.from([body.subarray(0, 3), body.subarray(3)]));
  const name = `/contract/${config.prefix}/m/big.bin`;
  const wire = requests.slice(from).filter((r) => r.path === name);
  assert.deepEqual(
    wire.map((r) => `${r.method} ${[...r.query.keys()].sort().join("&")} ${r.length ?? ""}`),
    ["POST uploads 0", `PUT partNumber&uploadId ${PART}`, `PUT partNumber&uploadId ${PART}`, "PUT partNumber&uploadId 1000", `POST uploadId ${wire.at(-1)?.length ?? ""}`],
  );
  assert.deepEqual(await storage.getBuffer("m/big.bin"), body);

  const small = requests.length;
  await storage.put("m/small.txt", "tiny");
  assert.deepEqual(
    requests.slice(small).filter((r) => r.path.endsWith("/m/small.txt")).map((r) => `${r.method} ${[...r.query.keys()].join("&")}`),
    ["PUT "],
  );
});

test("S3: a body failing after some parts aborts the multipart upload and keeps the old object", async () => {
  const config = s3Config();
  const logs: string[] = [];
  const storage = createS3Storage(config, { spoolDir: await spoolDir(), log: (l) => logs.push(l) });
  await storage.put("m/x.bin", "old");
  async function* failing(): AsyncGenerator<Buffer> {
    yield Buffer.alloc(PART + 10, 1);
    yield Buffer.alloc(PART, 2);
    throw new Error("upstream broke");
  }
  const from = requests.length;
  await assert.rejects(storage.put("m/x.bin", Readable.from(failing())), /upstream broke/);
  const wire = requests.slice(from).filter((r) => r.path.endsWith("/m/x.bin"));
  assert.ok(wire.some((r) => r.method === "DELETE" && r.query.has("uploadId")), "the upload was aborted");
  assert.ok(!wire.some((r) => r.method === "POST" && r.query.has("uploadId")), "and never completed");
  // s3rver does not implement AbortMultipartUpload: the failed abort is a warning, not the error.
  assert.ok(logs.every((l) => /^warning: cannot abort the multipart upload/.test(l)), logs.join("\n"));
  assert.equal((await storage.getBuffer("m/x.bin")).toString(), "old");
});

// --- retries -------------------------------------------------------------------------------------

/** No waiting between attempts, so the tests run fast; the attempts are the default (4). */
const FAST = { delayMs: () => 1 };

test("S3: a multipart upload whose requests fail transiently (SlowDown, InternalError, a reset) retries each and completes", async () => {
  const config = s3Config();
  const logs: string[] = [];
  const storage = createS3Storage(config, { spoolDir: await spoolDir(), log: (l) => logs.push(l), retry: FAST });
  const name = `/contract/${config.prefix}/r/big.bin`;
  const part = (n: number) => (r: Recorded) => r.path === name && r.method === "PUT" && r.query.get("partNumber") === String(n);
  inject((r) => r.path === name && r.method === "POST" && r.query.has("uploads"), 1, s3Error(503, "SlowDown"));
  inject(part(1), 2, s3Error(503, "SlowDown"));
  inject(part(2), 1, s3Error(500, "InternalError"));
  inject(part(3), 1, reset);
  inject((r) => r.path === name && r.method === "POST" && r.query.has("uploadId"), 1, s3Error(503, "SlowDown"));
  const body = randomBytes(2 * PART + 1000);
  const from = requests.length;
  assert.equal((await storage.put("r/big.bin", Readable.from([body]))).sha256, sha256(body));
  const wire = requests.slice(from).filter((r) => r.path === name);
  assert.deepEqual(
    wire.map((r) => `${r.method} ${r.query.has("uploads") ? "start" : (r.query.get("partNumber") ?? "complete")} ${r.fault ?? "ok"}`),
    [
      "POST start 503 SlowDown",
      "POST start ok",
      "PUT 1 503 SlowDown",
      "PUT 1 503 SlowDown",
      "PUT 1 ok",
      "PUT 2 500 InternalError",
      "PUT 2 ok",
      "PUT 3 reset",
      "PUT 3 ok",
      "POST complete 503 SlowDown",
      "POST complete ok",
    ],
  );
  assert.deepEqual(
    wire.filter((r) => r.query.has("partNumber")).map((r) => r.length),
    [PART, PART, PART, PART, PART, 1000, 1000],
    "a retried part sends the whole part again",
  );
  assert.equal(new Set(wire.filter((r) => r.query.has("uploadId")).map((r) => r.query.get("uploadId"))).size, 1, "one upload, never restarted");
  assert.deepEqual(await storage.getBuffer("r/big.bin"), body);
  assert.equal(logs.length, 6, logs.join("\n"));
  // minio does not read the body of a 503 (or 500): the status is what the message can name.
  assert.match(logs[0] as string, /^HTTP 503 from http:\/\/127\.0\.0\.1:\d+ when trying to start a multipart upload of object r\/big\.bin in bucket contract under t\d+\/; retrying in 1 ms \(attempt 2 of 4\)$/);
  assert.match(logs.join("\n"), /ECONNRESET from .* upload part 3 of object r\/big\.bin/);
});

test("S3: a single PUT, GET, stat, list and delete are retried after SlowDown, RequestTimeout and a reset", async () => {
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: await spoolDir(), retry: FAST });
  const name = `/contract/${config.prefix}/r/small.txt`;
  const on = (method: string) => (r: Recorded) => r.path === name && r.method === method;
  const listing = (r: Recorded) => r.path === "/contract" && r.method === "GET" && r.query.get("prefix") === `${config.prefix}/r/`;
  const faultsOf = (from: number) => requests.slice(from).filter((r) => r.fault !== undefined).map((r) => `${r.method} ${r.fault}`);

  let from = requests.length;
  inject(on("PUT"), 1, s3Error(400, "RequestTimeout"));
  inject(on("PUT"), 1, reset);
  await storage.put("r/small.txt", "small");
  assert.deepEqual(faultsOf(from), ["PUT 400 RequestTimeout", "PUT reset"]);
  assert.equal(requests.slice(from).filter(on("PUT")).length, 3);

  from = requests.length;
  inject(on("GET"), 2, s3Error(503, "SlowDown"));
  inject(on("HEAD"), 1, s3Error(503, "SlowDown"));
  inject(listing, 1, s3Error(500, "InternalError"));
  assert.equal((await storage.getBuffer("r/small.txt")).toString(), "small");
  assert.equal((await storage.stat("r/small.txt"))?.size, 5);
  assert.deepEqual((await storage.list("r/")).map((o) => o.key), ["r/small.txt"], "a retried listing starts over: nothing twice");
  assert.deepEqual(faultsOf(from), ["GET 503 SlowDown", "GET 503 SlowDown", "HEAD 503 SlowDown", "GET 500 InternalError"]);

  from = requests.length;
  inject(on("DELETE"), 1, s3Error(503, "SlowDown"));
  await storage.delete("r/small.txt");
  assert.deepEqual(faultsOf(from), ["DELETE 503 SlowDown"]);
  assert.equal(await storage.stat("r/small.txt"), undefined);
});

test("S3: other 4xx are answers, never retried; a transient failure on every attempt gives up after the last one", async () => {
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: await spoolDir(), retry: { ...FAST, attempts: 3 } });
  const name = (key: string) => `/contract/${config.prefix}/${key}`;

  for (const [key, status, code] of [["f/denied", 403, "AccessDenied"], ["f/bad", 400, "InvalidRequest"], ["f/big", 400, "EntityTooLarge"]] as const) {
    inject((r) => r.path === name(key) && r.method === "PUT", 1, s3Error(status, code));
    const from = requests.length;
    await assert.rejects(storage.put(key, "x"), (e: unknown) => {
      assert.ok(e instanceof InfraError);
      assert.match(e.message, new RegExp(`cannot upload object ${key} .*: ${code}: injected ${code}$`));
      return true;
    });
    assert.equal(requests.slice(from).filter((r) => r.path === name(key)).length, 1, `${code} was not retried`);
  }

  // A denied part: not retried, and the upload is aborted.
  inject((r) => r.path === name("f/part") && r.method === "PUT" && r.query.has("partNumber"), 1, s3Error(403, "AccessDenied"));
  let from = requests.length;
  await assert.rejects(storage.put("f/part", Readable.from([Buffer.alloc(PART + 1)])), /cannot upload part 1 of object f\/part .*AccessDenied/);
  assert.deepEqual(
    requests.slice(from).filter((r) => r.path === name("f/part")).map((r) => `${r.method} ${r.fault ?? "ok"}`),
    ["POST ok", "PUT 403 AccessDenied", "DELETE ok"],
  );

  inject((r) => r.path === name("f/busy") && r.method === "PUT", 10, s3Error(503, "SlowDown"));
  from = requests.length;
  await assert.rejects(storage.put("f/busy", "x"), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.match(e.message, /cannot upload object f\/busy .*: HTTP 503: Service Unavailable \(after 3 attempts\)$/);
    assert.match(e.hint ?? "", /overloaded or failing/);
    return true;
  });
  assert.equal(requests.slice(from).filter((r) => r.path === name("f/busy")).length, 3);
});

test("S3: parts and the abort carry the upload id escaped alike, as completeMultipartUpload does", async () => {
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: await spoolDir(), retry: FAST });
  const name = `/contract/${config.prefix}/u/odd.bin`;
  const id = "a+b/c=d";
  inject((r) => r.path === name && r.method === "POST" && r.query.has("uploads"), 1, {
    label: "initiated",
    answer: (req, res) =>
      afterBody(req, () => {
        res.writeHead(200, { "content-type": "application/xml" });
        res.end(`<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>contract</Bucket><Key>x</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`);
      }),
  });
  inject((r) => r.path === name && r.method === "PUT", 1, s3Error(404, "NoSuchUpload"));
  inject((r) => r.path === name && r.method === "DELETE", 1, { label: "aborted", answer: (req, res) => afterBody(req, () => res.writeHead(204).end()) });
  const from = requests.length;
  await assert.rejects(storage.put("u/odd.bin", Readable.from([Buffer.alloc(PART + 1)])), /NoSuchUpload/);
  const wire = requests.slice(from).filter((r) => r.path === name && r.query.has("uploadId"));
  assert.deepEqual(
    wire.map((r) => [r.method, r.query.get("uploadId"), /(?:^|&)uploadId=([^&]*)/.exec(r.rawQuery)?.[1]]),
    [
      ["PUT", id, "a%2Bb%2Fc%3Dd"],
      ["DELETE", id, "a%2Bb%2Fc%3Dd"],
    ],
  );
});

test("S3: put destroys a stream body it never reads (no bucket, a bad key): its file is closed", async () => {
  const dir = await spoolDir();
  const file = join(dir, "body.bin");
  await writeFile(file, "body");
  const storage = createS3Storage(s3Config({ bucket: "no-bucket-for-streams" }), { spoolDir: dir, retry: FAST });
  const body = createReadStream(file);
  const closed = new Promise<void>((resolve) => body.on("close", () => resolve()));
  await assert.rejects(storage.put("s/x", body), /the bucket no-bucket-for-streams does not exist/);
  await closed;
  assert.equal(body.destroyed, true);

  const other = createReadStream(file);
  await assert.rejects(storage.put("../x", other), { code: "storage.key" });
  assert.equal(other.destroyed, true);
  await rm(dir, { recursive: true, force: true });
});

// --- presigned URLs -------------------------------------------------------------------------------

const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data).digest();
const rfc3986 = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * SigV4 query signing written from AWS's specification, independently of minio: the signature of
 * a presigned GET of `path` (already URI-encoded) on `host`, with the other query parameters given.
 */
function sigV4Presign(o: { host: string; path: string; secretKey: string; region: string; query: Record<string, string> }): string {
  const amzDate = o.query["X-Amz-Date"] as string;
  const scope = `${amzDate.slice(0, 8)}/${o.region}/s3/aws4_request`;
  const canonicalQuery = Object.keys(o.query)
    .filter((k) => k !== "X-Amz-Signature")
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(o.query[k] as string)}`)
    .join("&");
  const canonicalRequest = ["GET", o.path, canonicalQuery, `host:${o.host}`, "", "host", "UNSIGNED-PAYLOAD"].join("\n");
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${o.secretKey}`, amzDate.slice(0, 8)), o.region), "s3"), "aws4_request");
  return hmac(signingKey, stringToSign).toString("hex");
}

// AWS S3 API reference, "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)", example.
const AWS_EXAMPLE = {
  accessKey: "AKIAIOSFODNN7EXAMPLE",
  secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  date: new Date("2013-05-24T00:00:00Z"),
  url: "https://examplebucket.s3.amazonaws.com/test.txt",
  signature: "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
};

test("SigV4: the independent signer reproduces AWS's published presigned-URL example", () => {
  const signature = sigV4Presign({
    host: "examplebucket.s3.amazonaws.com",
    path: "/test.txt",
    secretKey: AWS_EXAMPLE.secretKey,
    region: "us-east-1",
    query: {
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${AWS_EXAMPLE.accessKey}/20130524/us-east-1/s3/aws4_request`,
      "X-Amz-Date": "20130524T000000Z",
      "X-Amz-Expires": "86400",
      "X-Amz-SignedHeaders": "host",
    },
  });
  assert.equal(signature, AWS_EXAMPLE.signature);
});

test("SigV4: minio signs AWS's published example exactly (virtual-host style)", async () => {
  // minio rewrites s3.amazonaws.com to the regional host; the example uses the global one, which
  // minio keeps when it is named as the (transfer-acceleration) endpoint.
  const client = new Client({
    endPoint: "s3.amazonaws.com",
    s3AccelerateEndpoint: "s3.amazonaws.com",
    useSSL: true,
    pathStyle: false,
    region: "us-east-1",
    accessKey: AWS_EXAMPLE.accessKey,
    secretKey: AWS_EXAMPLE.secretKey,
  });
  const url = new URL(await client.presignedUrl("GET", "examplebucket", "test.txt", 86400, {}, AWS_EXAMPLE.date));
  assert.equal(`${url.origin}${url.pathname}`, AWS_EXAMPLE.url);
  assert.equal(url.searchParams.get("X-Amz-Signature"), AWS_EXAMPLE.signature);
  assert.deepEqual(Object.fromEntries(url.searchParams), {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
    "X-Amz-Date": "20130524T000000Z",
    "X-Amz-Expires": "86400",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": AWS_EXAMPLE.signature,
  });
});

/** Checks a download URL of `storage` against the independent signer, for the object `name` of `bucket`. */
function assertSignedFor(url: string, expected: { host: string; bucket: string; name: string; secretKey: string; region: string; pathStyle?: boolean }): void {
  const u = new URL(url);
  assert.equal(u.host, expected.host);
  const encoded = expected.name.split("/").map(rfc3986).join("/");
  const path = expected.pathStyle === false ? `/${encoded}` : `/${expected.bucket}/${encoded}`;
  assert.equal(u.pathname, path, "the object's path, each segment encoded once");
  const query = Object.fromEntries(u.searchParams);
  const signature = sigV4Presign({ host: expected.host, path, secretKey: expected.secretKey, region: expected.region, query });
  assert.equal(query["X-Amz-Signature"], signature, "minio's signature is SigV4's");
}

test("S3: downloadUrl is a presigned GET of the object that SigV4 verifies, with the expiry asked for (at most 7 days)", async () => {
  const config = s3Config({ prefix: "pre/fix", secretKey: "s3cr3t-Signing-Key/+=", sessionToken: "SESSION-token/+==" });
  const storage = createS3Storage(config, { spoolDir: await spoolDir() });
  await storage.put("a b/ü#?&=.txt", "signed");
  const url = await storage.downloadUrl("a b/ü#?&=.txt", 60);
  const u = new URL(url);
  assert.equal(u.searchParams.get("X-Amz-Expires"), "60");
  assert.equal(u.searchParams.get("X-Amz-Security-Token"), config.sessionToken, "temporary credentials carry their token");
  assert.match(u.searchParams.get("X-Amz-Credential") ?? "", /^S3RVER\/\d{8}\/us-east-1\/s3\/aws4_request$/);
  assertSignedFor(url, { host: `127.0.0.1:${port}`, bucket: "contract", name: "pre/fix/a b/ü#?&=.txt", secretKey: config.secretKey as string, region: REGION });
  assert.equal((await download(url)).toString(), "signed");
  assert.equal(new URL(await storage.downloadUrl("a b/ü#?&=.txt")).searchParams.get("X-Amz-Expires"), String(MAX_PRESIGN_SECONDS));
  assert.equal(new URL(await storage.downloadUrl("a b/ü#?&=.txt", 10 ** 9)).searchParams.get("X-Amz-Expires"), String(MAX_PRESIGN_SECONDS));
});

test("S3: with public_endpoint, download URLs are signed for the public host; making them needs no network", async () => {
  const config = s3Config({ publicEndpoint: `http://localhost:${port}`, secretKey: "another-secret" });
  const storage = createS3Storage(config, { spoolDir: await spoolDir() });
  await storage.put("p/file.bin", Buffer.from([1, 2, 3]));
  const url = await storage.downloadUrl("p/file.bin");
  assert.ok(url.startsWith(`http://localhost:${port}/contract/${config.prefix}/p/file.bin?`), url);
  assertSignedFor(url, { host: `localhost:${port}`, bucket: "contract", name: `${config.prefix}/p/file.bin`, secretKey: "another-secret", region: REGION });
  const from = requests.length;
  assert.deepEqual(await download(url), Buffer.from([1, 2, 3]));
  assert.equal(requests.slice(from).at(-1)?.host, `localhost:${port}`, "the user's request reached the server by the public name");

  // Neither the (unresolvable) public host nor the (closed) internal endpoint is contacted.
  const closed = await listen(() => undefined);
  const closedPort = portOf(closed);
  await close(closed);
  const offlineConfig = s3Config({ endpoint: `http://127.0.0.1:${closedPort}`, publicEndpoint: "https://downloads.example.invalid", pathStyle: false, bucket: "public-bucket" });
  const offline = createS3Storage(offlineConfig, { spoolDir: await spoolDir() });
  const signed = await offline.downloadUrl("p/file.bin", 3600);
  assert.ok(signed.startsWith("https://public-bucket.downloads.example.invalid/"), signed);
  assertSignedFor(signed, { host: "public-bucket.downloads.example.invalid", bucket: "public-bucket", name: `${offlineConfig.prefix}/p/file.bin`, secretKey: "S3RVER", region: REGION, pathStyle: false });
});

test("S3: without keys (a public bucket), download URLs are plain URLs of the object", async () => {
  const storage = createS3Storage(s3Config({ accessKey: undefined, secretKey: undefined, prefix: "pub" }), { spoolDir: await spoolDir() });
  await admin().putObject("contract", "pub/a b.txt", "public");
  const url = await storage.downloadUrl("a b.txt");
  assert.equal(url, `${origin}/contract/pub/a%20b.txt`);
  assert.equal((await download(url)).toString(), "public");
  const from = requests.length;
  assert.equal((await storage.getBuffer("a b.txt")).toString(), "public", "reads go unsigned");
  assert.ok(requests.slice(from).length > 0);
});

// --- the bucket -----------------------------------------------------------------------------------

test("S3: a missing bucket is created when create_bucket allows it, else a clear error naming bucket and endpoint", async () => {
  const logs: string[] = [];
  const maker = createS3Storage(s3Config({ bucket: "made-by-condaops", prefix: "", createBucket: true }), { spoolDir: await spoolDir(), log: (l) => logs.push(l) });
  assert.equal(await admin().bucketExists("made-by-condaops"), false);
  await maker.put("k", "v");
  assert.equal(await admin().bucketExists("made-by-condaops"), true);
  assert.deepEqual(logs, [`created the bucket made-by-condaops at ${origin}`]);
  assert.equal(maker.location, `s3://made-by-condaops (${origin})`);

  const strict = createS3Storage(s3Config({ bucket: "not-there-yet" }), { spoolDir: await spoolDir() });
  for (const op of [() => strict.put("k", "v"), () => strict.stat("k"), () => strict.list(""), () => strict.getBuffer("k"), () => strict.delete("k")]) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof InfraError, String(e));
      assert.equal(e.code, "storage.s3");
      assert.equal(e.message, `the bucket not-there-yet does not exist at ${origin}`);
      assert.match(e.hint ?? "", /create_bucket: true/);
      return true;
    });
  }
  // Not remembered: once the bucket exists, the same storage works.
  await admin().makeBucket("not-there-yet", REGION);
  await strict.put("k", "v");
  assert.equal((await strict.getBuffer("k")).toString(), "v");
});

// --- the build-log spool --------------------------------------------------------------------------

test("S3: a writer spools to <spoolDir>/<sha256>.<random>.partial (0600), removed on finish and abort", async () => {
  const spool = await spoolDir();
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: join(spool, "deep", "spool") });
  const w = await storage.writer("builds/x/log/build.log");
  await w.write("line\n");
  const files = await readdir(join(spool, "deep", "spool"));
  assert.equal(files.length, 1);
  const stem = createHash("sha256").update(`contract\n${config.prefix}/builds/x/log/build.log`).digest("hex");
  assert.match(files[0] as string, new RegExp(`^${stem}\\.[0-9a-f]{12}\\.partial$`));
  const file = join(spool, "deep", "spool", files[0] as string);
  assert.equal((await stat(file)).mode & 0o777, 0o600, "a log may hold what a build printed: only its owner reads it");
  assert.equal((await stat(file)).size, 5, "each write reaches the spool file at once");
  await w.finish();
  assert.deepEqual(await readdir(join(spool, "deep", "spool")), []);
  const a = await storage.writer("builds/x/log/other.log");
  await a.write("x");
  await a.abort();
  assert.deepEqual(await readdir(join(spool, "deep", "spool")), []);
});

test("S3: a worker restarted after a crash salvages the log its dead process was streaming", async () => {
  const spool = await spoolDir();
  const config = s3Config();
  const dead = createS3Storage(config, { spoolDir: spool });
  const w = await dead.writer("builds/y/log/build.log");
  await w.write("step 1\nstep 2\n");
  // The process is killed: its writer is never finished. A new process, a new client:
  const logs: string[] = [];
  const restarted = createS3Storage(config, { spoolDir: spool, log: (l) => logs.push(l) });
  assert.equal(await restarted.stat("builds/y/log/build.log"), undefined);
  assert.deepEqual(await restarted.salvage("builds/y/log/build.log"), { key: "builds/y/log/build.log", size: 14, sha256: sha256("step 1\nstep 2\n") });
  assert.equal((await restarted.getBuffer("builds/y/log/build.log")).toString(), "step 1\nstep 2\n");
  assert.deepEqual(await readdir(spool), [], "the spool file is gone once published");
  assert.match(logs.join("\n"), /salvaged 14 bytes of builds\/y\/log\/build\.log/);
  // Another key's spool is not touched by salvage of this one.
  const other = await dead.writer("builds/z/log/build.log");
  await other.write("z");
  assert.equal(await restarted.salvage("builds/y/log/build.log"), undefined);
  assert.equal((await readdir(spool)).length, 1);
});

test("S3: a finish whose upload fails keeps the spool for salvage; abort then removes it", async () => {
  const spool = await spoolDir();
  const config = s3Config({ bucket: "later-bucket" });
  const storage = createS3Storage(config, { spoolDir: spool });
  const w = await storage.writer("l/build.log");
  await w.write("kept\n");
  await assert.rejects(w.finish(), { code: "storage.s3" });
  assert.equal((await readdir(spool)).length, 1);
  await admin().makeBucket("later-bucket", REGION);
  assert.deepEqual(await storage.salvage("l/build.log"), { key: "l/build.log", size: 5, sha256: sha256("kept\n") });

  const w2 = await createS3Storage(s3Config({ bucket: "never-bucket" }), { spoolDir: spool }).writer("l/x.log");
  await w2.write("x");
  await assert.rejects(w2.finish(), { code: "storage.s3" });
  await w2.abort();
  assert.deepEqual(await readdir(spool), []);
});

// --- secrets stay out of errors -------------------------------------------------------------------

const SECRET = "Zq9-THE-SECRET-KEY-xK7/+w";
const TOKEN = "FwoGZX-THE-SESSION-TOKEN-yR2";

function assertNoSecret(e: unknown): void {
  for (const text of [String(e), inspect(e, { depth: 10, showHidden: true }), JSON.stringify(e), e instanceof Error ? (e.stack ?? "") : "", isCondaopsError(e) ? (e.hint ?? "") : ""]) {
    assert.ok(!text.includes(SECRET), `the secret key leaked: ${text}`);
    assert.ok(!text.includes(TOKEN), `the session token leaked: ${text}`);
  }
}

function allOps(storage: BlobStorage): [string, () => Promise<unknown>][] {
  return [
    ["put", () => storage.put("k/x", "v")],
    ["put multipart", () => storage.put("k/x", Readable.from([Buffer.alloc(PART + 1)]))],
    ["get", () => storage.get("k/x")],
    ["getBuffer", () => storage.getBuffer("k/x")],
    ["stat", () => storage.stat("k/x")],
    ["list", () => storage.list("k/")],
    ["delete", () => storage.delete("k/x")],
    [
      "writer",
      async () => {
        const w = await storage.writer("k/log");
        await w.write("x");
        return w.finish();
      },
    ],
  ];
}

test("S3: refused keys are InfraError storage.s3 naming operation, object, bucket and S3 code, never the secret or token", async () => {
  const storage = createS3Storage(s3Config({ accessKey: "NOT-A-KNOWN-KEY", secretKey: SECRET, sessionToken: TOKEN }), { spoolDir: await spoolDir() });
  for (const [name, op] of allOps(storage)) {
    await assert.rejects(op(), (e: unknown) => {
      assert.ok(e instanceof InfraError, `${name}: ${String(e)}`);
      assert.equal(e.code, "storage.s3", name);
      assert.equal(e.exitCode, 3);
      assert.match(e.message, /InvalidAccessKeyId|AccessDenied/, name);
      assert.match(e.message, /bucket contract/, name);
      assert.match(e.message, new RegExp(`at ${origin.replace(/\./g, "\\.")}`), name);
      if (name !== "list") assert.match(e.message, /k\/(x|log)/, name);
      assert.match(e.hint ?? "", /check the S3 keys/, name);
      assert.equal(e.cause, undefined, "minio's error (and its request) is not kept");
      assertNoSecret(e);
      return true;
    });
  }
  assert.ok(!storage.location.includes(SECRET));
});

test("S3: a server that echoes the secret and the token in its errors gets them masked", async () => {
  const echo = await listen((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    req.resume();
    if (req.method === "HEAD" && path === "/bucket") {
      res.writeHead(200).end();
    } else if (req.method === "HEAD") {
      // HEAD has no body: minio reads MinIO's error headers.
      res.writeHead(400, { "x-minio-error-code": "InvalidRequest", "x-minio-error-desc": `bad key ${SECRET} token ${TOKEN}` }).end();
    } else {
      res.writeHead(400, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code><Message>signed with ${SECRET} and ${TOKEN}</Message><Resource>${path}</Resource><RequestId>1</RequestId></Error>`);
    }
  });
  try {
    const storage = createS3Storage(s3Config({ endpoint: `http://127.0.0.1:${portOf(echo)}`, bucket: "bucket", secretKey: SECRET, sessionToken: TOKEN }), { spoolDir: await spoolDir() });
    for (const [name, op] of allOps(storage)) {
      await assert.rejects(op(), (e: unknown) => {
        assert.ok(e instanceof InfraError, `${name}: ${String(e)}`);
        assert.match(e.message, /InvalidRequest: (signed with|bad key) \*\*\*/, name);
        assertNoSecret(e);
        return true;
      });
    }
  } finally {
    await close(echo);
  }
});

test("S3: an unreachable endpoint is InfraError storage.s3 with a hint to check storage.endpoint", async () => {
  const closed = await listen(() => undefined);
  const closedPort = portOf(closed);
  await close(closed);
  const storage = createS3Storage(s3Config({ endpoint: `http://127.0.0.1:${closedPort}`, secretKey: SECRET }), { spoolDir: await spoolDir() });
  await assert.rejects(storage.put("k", "v"), (e: unknown) => {
    assert.ok(e instanceof InfraError);
    assert.match(e.message, new RegExp(`cannot reach bucket contract at http://127\\.0\\.0\\.1:${closedPort}: ECONNREFUSED`));
    assert.match(e.hint ?? "", /check storage\.endpoint/);
    assertNoSecret(e);
    return true;
  });
});

test("S3: bad endpoints and prefixes are refused before any request", async () => {
  const spool = await spoolDir();
  for (const endpoint of ["ftp://host", "http://host/path", "http://user:pw@host", "not a url"]) {
    assert.throws(() => createS3Storage(s3Config({ endpoint }), { spoolDir: spool }), (e: unknown) => e instanceof InputError && e.code === "config.invalid" && !e.message.includes(":pw@"), endpoint);
  }
  assert.throws(() => createS3Storage(s3Config({ prefix: "a/../b" }), { spoolDir: spool }), { code: "storage.key" });
  assert.throws(() => createS3Storage(s3Config({ partSize: 1024 }), { spoolDir: spool }), { code: "config.invalid" });
  // A key that fits alone but not under the prefix.
  const storage = createS3Storage(s3Config({ prefix: "p".repeat(100) }), { spoolDir: spool });
  await assert.rejects(storage.put("k".repeat(1000), "v"), { code: "storage.key" });
});

test("S3: location names bucket, prefix and endpoint; leading and trailing / of the prefix are ignored", async () => {
  const storage = createS3Storage(s3Config({ prefix: "/ci/main/", secretKey: SECRET }), { spoolDir: await spoolDir() });
  assert.equal(storage.location, `s3://contract/ci/main (${origin})`);
  await storage.put("x", "1");
  assert.deepEqual(await adminList("ci/"), ["ci/main/x"]);
  assert.deepEqual((await storage.list("")).map((o) => o.key), ["x"]);
});

test("S3: objects the bucket holds under the prefix that no key can name (folder markers) are not listed", async () => {
  const config = s3Config();
  const storage = createS3Storage(config, { spoolDir: await spoolDir() });
  await storage.put("d/real", "1");
  await admin().putObject("contract", `${config.prefix}/d/`, "");
  await admin().putObject("contract", `${config.prefix}-sibling/x`, "");
  assert.deepEqual((await storage.list("")).map((o) => o.key), ["d/real"]);
});

test("S3: the region comes from the configuration: the server is never asked for it", () => {
  assert.ok(requests.length > 100, "the tests above talked to s3rver");
  assert.deepEqual(
    requests.filter((r) => r.query.has("location")).map((r) => `${r.method} ${r.path}`),
    [],
  );
});
