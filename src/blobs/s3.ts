/**
 * Object storage in a bucket of an S3-compatible server (AWS S3, MinIO, Ceph RGW, Garage, R2...),
 * spoken to with the `minio` client: the production backend, reachable by every worker and user.
 *
 * - Key `a/b` is the object `<prefix>/a/b` of the bucket; keys are checked with `checkObjectKey`
 *   like every backend's. The region is always given to the client, so it never asks the server
 *   for it (one request fewer, and presigning needs no network at all).
 * - `put` streams: a body up to `partSize` is one PUT, a larger one a multipart upload of
 *   `partSize` parts (one in memory at a time), aborted when anything fails. Either way the object
 *   appears whole or not at all (S3 semantics). The multipart upload is driven here rather than
 *   by minio's `putObject`, which first lists the bucket's unfinished uploads to resume one: that
 *   would join two writers of the same key, and servers without that call (s3rver) fail it.
 * - `writer` (the build log, streamed while the build runs) spools to a local file under
 *   `spoolDir`, named after the bucket and key, and uploads it on `finish`. A worker killed
 *   mid-build leaves the spool file, which `salvage` publishes later from the same machine.
 * - Requests that can be replayed are retried, a bounded number of times with exponential backoff
 *   and jitter (`backoffMs`, shared with the channel downloads), when the server says it is busy or
 *   failing (408, 429, 5xx; SlowDown, InternalError, RequestTimeout...) or the connection broke
 *   (ECONNRESET, EPIPE, ETIMEDOUT...): every PUT (a single PUT and each part are
 *   sent from a Buffer held in memory, never from the one-shot body stream), starting and
 *   completing a multipart upload, GET, stat, list, delete and abort. Other 4xx are answers, never
 *   retried; nor is a refused connection or an unknown host (a wrong endpoint, not a blip).
 * - Every failure is an InfraError `storage.s3` naming the operation, the object and the S3 error
 *   code, with a hint where the code says what to do. Messages go through `redactText` with the
 *   secret key and session token, and never carry minio's error (or the request it made) as cause.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readdir, rm, stat } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { dirname, join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { Client } from "minio";
import type { BucketItem } from "minio";
import { backoffMs, sleep } from "../builder/channels/backoff.ts";
import { redactText } from "../builder/channels/redact.ts";
import type { StorageConfig } from "../config/types.ts";
import { InfraError, InputError, isCondaopsError } from "../errors.ts";
import { MAX_KEY_BYTES, checkObjectKey, checkObjectPrefix } from "./object-key.ts";
import type { BlobStorage, ObjectInfo, ObjectWriter, StoredObject } from "./storage.ts";
import { orderedAppends, toBuffer } from "./ordered-appends.ts";

export type S3StorageConfig = Extract<StorageConfig, { kind: "s3" }>;

export interface S3StorageOptions {
  /** Local folder for the spool files of `writer` (`<state>/tmp/spool`); made when needed. */
  spoolDir: string;
  log?: (line: string) => void;
  /** Retries of transient failures (tests shorten the waits). */
  retry?: {
    /** Tries per request, the first included; default 4. */
    attempts?: number;
    /** The wait before retry `n` (1, 2, ...); default `backoffMs`: 250 ms doubling, capped at 5 s, with jitter. */
    delayMs?: (retry: number) => number;
  };
}

/** S3 caps multipart uploads at 10,000 parts and presigned URLs at 7 days. */
const MAX_PARTS = 10_000;
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Where a client connects: minio takes host, port and TLS apart rather than a URL. */
export interface S3Endpoint {
  host: string;
  port?: number;
  useSSL: boolean;
  /** `https://host[:port]`, for messages. */
  origin: string;
}

/** Parses `http(s)://host[:port]` (the configuration checked the shape already). */
export function parseS3Endpoint(key: string, raw: string): S3Endpoint {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InputError("config.invalid", `${key} is not a URL`, { hint: "e.g. https://s3.amazonaws.com or http://127.0.0.1:9000" });
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "" || url.username !== "" || url.password !== "" || (url.pathname !== "/" && url.pathname !== "")) {
    throw new InputError("config.invalid", `${key} must be an http:// or https:// URL with no path and no user:password@`, { hint: "e.g. https://s3.amazonaws.com or http://127.0.0.1:9000" });
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, ...(url.port !== "" ? { port: Number(url.port) } : {}), useSSL: url.protocol === "https:", origin: `${url.protocol}//${url.host}` };
}

const TEXT_TYPES: Record<string, string> = {
  log: "text/plain; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  yml: "text/plain; charset=utf-8",
  yaml: "text/plain; charset=utf-8",
  lock: "text/plain; charset=utf-8",
  md: "text/plain; charset=utf-8",
  json: "application/json",
};

/** What browsers are told a downloaded object is: text shows, everything else downloads (never HTML). */
function contentTypeOf(key: string): string {
  const ext = /\.([A-Za-z0-9]+)$/.exec(key)?.[1]?.toLowerCase() ?? "";
  return TEXT_TYPES[ext] ?? "application/octet-stream";
}

/**
 * The status of an answer minio did not read: for 408, 429, 499, 500, 502, 503, 504 and 520 it
 * throws `Error("Request failed after N retries: Error: Retryable HTTP status: 503")` without
 * parsing the body, so the S3 code (SlowDown, InternalError) is lost and the status is all there is.
 */
function unreadStatusOf(e: unknown): number | undefined {
  const m = e instanceof Error ? /^Request failed after \d+ retries: Error: Retryable HTTP status: (\d{3})$/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`), else `HTTP <status>` (above), else a Node errno (`ECONNREFUSED`), else the error's class name. */
function codeOf(e: unknown): string {
  const status = unreadStatusOf(e);
  if (status !== undefined) return `HTTP ${status}`;
  if (typeof e === "object" && e !== null) {
    if ("code" in e && typeof e.code === "string" && e.code !== "") return e.code;
    if (e instanceof AggregateError && e.errors.length > 0) return codeOf(e.errors[0]);
    if (e instanceof Error && e.name !== "Error") return e.name;
  }
  return "Error";
}

function messageOf(e: unknown): string {
  const status = unreadStatusOf(e);
  if (status !== undefined) return STATUS_CODES[status] ?? "";
  if (e instanceof AggregateError && e.message === "" && e.errors.length > 0) return messageOf(e.errors[0]);
  return e instanceof Error ? e.message : String(e);
}

const NOT_FOUND = new Set(["NoSuchKey", "NotFound"]);
const CREDENTIALS = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "AnonymousRequestError"]);
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);
const TLS = new Set(["DEPTH_ZERO_SELF_SIGNED_CERT", "SELF_SIGNED_CERT_IN_CHAIN", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID"]);
const REGION = new Set(["AuthorizationHeaderMalformed", "PermanentRedirect", "MovedPermanently", "TemporaryRedirect", "IllegalLocationConstraintException", "AuthorizationQueryParametersError"]);
const BUSY = new Set(["SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "TooManyRequests"]);
/** Connections that broke mid-request; ECONNREFUSED and ENOTFOUND are left out: they mean a wrong endpoint far more often than a blip. */
const BROKEN = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "UND_ERR_SOCKET"]);

/**
 * A failure worth another try of the same request: the server busy or failing (SlowDown,
 * InternalError, RequestTimeout..., or a 408, 429 or 5xx minio did not read), or the connection
 * lost. Every other answer (403, 404, 400 InvalidRequest...) is final.
 */
function isTransient(e: unknown): boolean {
  const code = codeOf(e);
  return BUSY.has(code) || BROKEN.has(code) || unreadStatusOf(e) !== undefined;
}

/** An upload id in a query string, escaped as minio escapes it for completeMultipartUpload (its uploadPart and abortMultipartUpload take it as given). */
const queryEscape = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function createS3Storage(config: S3StorageConfig, options: S3StorageOptions): BlobStorage {
  const { bucket, region, partSize } = config;
  const base = config.prefix.replace(/^\/+|\/+$/g, "");
  if (base !== "") checkObjectKey(base);
  const endpoint = parseS3Endpoint("storage.endpoint", config.endpoint);
  const publicEndpoint = config.publicEndpoint === undefined ? endpoint : parseS3Endpoint("storage.public_endpoint", config.publicEndpoint);
  const secrets = [config.secretKey, config.sessionToken].filter((s): s is string => s !== undefined && s !== "");
  const anonymous = config.accessKey === undefined || config.secretKey === undefined;
  const location = `s3://${bucket}${base === "" ? "" : `/${base}`} (${endpoint.origin})`;
  const clean = (text: string): string => redactText(text, secrets);
  const attempts = Math.max(1, Math.floor(options.retry?.attempts ?? 4));
  const delayMs = options.retry?.delayMs ?? backoffMs;
  /** Transient errors given up on after every attempt, with the number of attempts (for the message). */
  const gaveUp = new WeakMap<object, number>();

  function clientFor(ep: S3Endpoint, key: string): Client {
    try {
      return new Client({
        endPoint: ep.host,
        ...(ep.port !== undefined ? { port: ep.port } : {}),
        useSSL: ep.useSSL,
        region,
        pathStyle: config.pathStyle,
        partSize,
        ...(config.accessKey !== undefined ? { accessKey: config.accessKey } : {}),
        ...(config.secretKey !== undefined ? { secretKey: config.secretKey } : {}),
        ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
        // minio's own retry (one, for 5xx, 408 and 429 only) would replay what it was given even
        // when that is a consumed stream, and prints to the console; `retrying` below does it.
        retryOptions: { disableRetry: true },
      });
    } catch (e) {
      throw new InputError("config.invalid", clean(`cannot use ${key} ${ep.origin} with bucket ${bucket}: ${messageOf(e)}`), {
        hint: "check storage.endpoint, storage.region and storage.part_size (at least 5 MiB, at most 5 GiB)",
      });
    }
  }
  const client = clientFor(endpoint, "storage.endpoint");
  // SigV4 signs the Host header: a URL for another host needs a client of that host.
  const presigner = config.publicEndpoint === undefined ? client : clientFor(publicEndpoint, "storage.public_endpoint");

  const where = (key: string | undefined): string => (key === undefined ? `bucket ${bucket}` : `object ${key} in bucket ${bucket}${base === "" ? "" : ` under ${base}/`}`);

  function hintFor(code: string): string | undefined {
    if (CREDENTIALS.has(code)) {
      return anonymous
        ? `no S3 keys are configured, so requests are anonymous: set storage.access_key_id_env and storage.secret_access_key_env (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`
        : `check the S3 keys (storage.access_key_id*, storage.secret_access_key*, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and that they may use bucket ${bucket}`;
    }
    if (code === "NoSuchBucket") return `create the bucket ${bucket} at ${endpoint.origin}, or set storage.create_bucket: true`;
    if (UNREACHABLE.has(code)) return `check storage.endpoint (${endpoint.origin}) and that the server is reachable from this machine`;
    if (TLS.has(code)) return `the TLS certificate of ${endpoint.origin} is not trusted here: point NODE_EXTRA_CA_CERTS at its CA certificate`;
    if (code === "RequestTimeTooSkewed") return "this machine's clock is off: synchronise it (NTP); S3 refuses requests signed at the wrong time";
    if (REGION.has(code)) return `check storage.region (${region}) against the bucket's region, and storage.path_style (${config.pathStyle})`;
    if (BUSY.has(code) || code.startsWith("HTTP ")) return "the server is overloaded or failing: retry later";
    if (code === "EntityTooSmall" || code === "EntityTooLarge") return "check storage.part_size";
    return undefined;
  }

  /** A failure of the S3 server or the network, in words a user reads and without any secret. */
  function failure(action: string, key: string | undefined, e: unknown): InfraError {
    const code = codeOf(e);
    const message = messageOf(e);
    const why = message === "" || message === code ? code : `${code}: ${message}`;
    const tries = typeof e === "object" && e !== null ? gaveUp.get(e) : undefined;
    const hint = hintFor(code);
    return new InfraError("storage.s3", clean(`cannot ${action} ${where(key)} at ${endpoint.origin}: ${why}${tries === undefined ? "" : ` (after ${tries} attempts)`}`), hint === undefined ? {} : { hint: clean(hint) });
  }

  /**
   * Runs one replayable S3 request, again after a transient failure, up to `attempts` times; what
   * it finally throws is the request's own error. Only for requests whose every try sends the
   * same bytes: never one reading a stream.
   */
  async function retrying<T>(action: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (isCondaopsError(e) || !isTransient(e)) throw e;
        if (attempt >= attempts) {
          if (typeof e === "object" && e !== null && attempts > 1) gaveUp.set(e, attempts);
          throw e;
        }
        const wait = Math.max(0, Math.round(delayMs(attempt)));
        options.log?.(clean(`${codeOf(e)} from ${endpoint.origin} when trying to ${action} ${where(key)}; retrying in ${wait} ms (attempt ${attempt + 1} of ${attempts})`));
        await sleep(wait);
      }
    }
  }

  /** Runs one replayable S3 request (`retrying`), turning what it throws into `failure`. */
  async function call<T>(action: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await retrying(action, key, fn);
    } catch (e) {
      if (isCondaopsError(e)) throw e;
      throw failure(action, key, e);
    }
  }

  function missing(key: string): InfraError {
    return new InfraError("storage.missing", `object ${key} does not exist in storage ${location}`, { hint: "it was never stored, or retention removed it" });
  }

  /** The checked key and the bucket's object name for it (the prefix prepended). */
  function objectName(key: string): string {
    checkObjectKey(key);
    const name = base === "" ? key : `${base}/${key}`;
    if (Buffer.byteLength(name, "utf8") > MAX_KEY_BYTES) {
      throw new InputError("storage.key", `invalid object key ${JSON.stringify(key.slice(0, 120))}: with the prefix ${base}/ it is longer than ${MAX_KEY_BYTES} bytes`, {
        hint: "use a shorter storage.prefix",
      });
    }
    return name;
  }

  // The bucket is looked at once per process, before the first operation that needs it.
  let bucketReady: Promise<void> | undefined;
  function ensureBucket(): Promise<void> {
    if (bucketReady !== undefined) return bucketReady;
    const p = (async (): Promise<void> => {
      let exists: boolean;
      try {
        exists = await retrying("reach", undefined, () => client.bucketExists(bucket));
      } catch (e) {
        // Keys that may read and write objects but not look at the bucket: let the operations tell.
        if (codeOf(e) === "AccessDenied") return;
        throw failure("reach", undefined, e);
      }
      if (exists) return;
      if (!config.createBucket) {
        throw new InfraError("storage.s3", `the bucket ${bucket} does not exist at ${endpoint.origin}`, {
          hint: `create it (mc mb, aws s3 mb, the provider's console), or set storage.create_bucket: true to let condaops create it`,
        });
      }
      try {
        // Replayable: a retry after a lost answer is BucketAlreadyOwnedByYou.
        await retrying("create", undefined, () => client.makeBucket(bucket, region));
      } catch (e) {
        const code = codeOf(e);
        if (code === "BucketAlreadyOwnedByYou") return; // another worker made it just now
        if (code === "BucketAlreadyExists") {
          throw new InfraError("storage.s3", `cannot create the bucket ${bucket} at ${endpoint.origin}: the name is taken by another account`, { hint: "choose another storage.bucket" });
        }
        throw failure("create", undefined, e);
      }
      options.log?.(`created the bucket ${bucket} at ${endpoint.origin}`);
    })();
    bucketReady = p;
    // A failed look is not remembered: the next operation looks again.
    p.catch(() => {
      if (bucketReady === p) bucketReady = undefined;
    });
    return p;
  }

  /**
   * Uploads what `chunks` yields under `name`: one PUT when it fits in a part, else a multipart
   * upload that is aborted when anything fails. Errors of `chunks` itself pass through unchanged.
   * A stream `chunks` is destroyed when the upload fails before reading it to the end.
   */
  async function upload(key: string, name: string, chunks: AsyncIterable<unknown> | Iterable<unknown>): Promise<StoredObject> {
    try {
      await ensureBucket();
    } catch (e) {
      // Never read, so nothing else closes it (a file stream would keep its descriptor).
      if (chunks instanceof Readable) chunks.destroy();
      throw e;
    }
    const hash = createHash("sha256");
    const headers = { "Content-Type": contentTypeOf(key) };
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: { part: number; etag: string }[] = [];
    const sendPart = async (id: string, data: Buffer): Promise<void> => {
      const part = parts.length + 1;
      if (part > MAX_PARTS) {
        throw new InfraError("storage.s3", `cannot upload ${where(key)}: it needs more than ${MAX_PARTS} parts of ${partSize} bytes`, { hint: "raise storage.part_size" });
      }
      const md5 = createHash("md5").update(data).digest("base64");
      // `data` is a Buffer: every attempt sends the same bytes.
      const res = await call(`upload part ${part} of`, key, () =>
        client.uploadPart({ bucketName: bucket, objectName: name, uploadID: queryEscape(id), partNumber: part, headers: { "Content-Length": data.length, "Content-MD5": md5 } }, data),
      );
      parts.push({ part, etag: res.etag });
    };
    try {
      for await (const chunk of chunks) {
        const data = toBuffer(chunk);
        hash.update(data);
        size += data.length;
        pending.push(data);
        pendingBytes += data.length;
        // Only what is known not to be the last part goes now (the last may be short).
        while (pendingBytes > partSize) {
          // A retry after a lost answer leaves an unused upload behind, as a failed abort does (the bucket's lifecycle rules remove it).
          uploadId ??= await call("start a multipart upload of", key, () => client.initiateNewMultipartUpload(bucket, name, headers));
          const all = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
          await sendPart(uploadId, all.subarray(0, partSize));
          pending = [all.subarray(partSize)];
          pendingBytes = all.length - partSize;
        }
      }
      const rest = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      if (uploadId === undefined) {
        await call("upload", key, () => client.putObject(bucket, name, rest, rest.length, headers));
      } else {
        const id = uploadId;
        await sendPart(id, rest);
        await call("complete the multipart upload of", key, () => client.completeMultipartUpload(bucket, name, id, parts));
      }
    } catch (e) {
      if (uploadId !== undefined) {
        const id = uploadId;
        await retrying("abort the multipart upload of", key, () => client.abortMultipartUpload(bucket, name, queryEscape(id))).catch((abortError: unknown) => {
          options.log?.(`warning: ${failure("abort the multipart upload of", key, abortError).message}; the bucket's lifecycle rules must remove its parts`);
        });
      }
      throw e;
    }
    return { key, size, sha256: hash.digest("hex") };
  }

  // Spool files: `<sha256(bucket, name)>.<random>.partial` (several writers of one key may race).
  const spoolDir = options.spoolDir;
  const spoolStem = (name: string): string => `${createHash("sha256").update(`${bucket}\n${name}`).digest("hex")}.`;
  const spoolError = (action: string, key: string, path: string, e: unknown): InfraError =>
    new InfraError("storage.io", `cannot ${action} the spool file ${path} of object ${key}: ${messageOf(e)}`, { hint: `check that the user running condaops can write to ${spoolDir} and that its filesystem has space` });

  async function spoolFiles(name: string): Promise<{ path: string; size: number }[]> {
    const stem = spoolStem(name);
    let entries: string[];
    try {
      entries = await readdir(spoolDir);
    } catch (e) {
      if (codeOf(e) === "ENOENT") return [];
      throw spoolError("list", name, spoolDir, e);
    }
    const out: { path: string; size: number }[] = [];
    for (const entry of entries) {
      if (!entry.startsWith(stem) || !entry.endsWith(".partial")) continue;
      const info = await stat(join(spoolDir, entry)).catch(() => undefined);
      if (info?.isFile()) out.push({ path: join(spoolDir, entry), size: info.size });
    }
    return out;
  }

  async function statObject(key: string, name: string): Promise<ObjectInfo | undefined> {
    await ensureBucket();
    try {
      const info = await retrying("stat", key, () => client.statObject(bucket, name));
      return { key, size: info.size, modified: info.lastModified };
    } catch (e) {
      if (NOT_FOUND.has(codeOf(e))) return undefined;
      throw failure("stat", key, e);
    }
  }

  async function openObject(key: string): Promise<Readable> {
    const name = objectName(key);
    await ensureBucket();
    try {
      // Only the request is retried; a body that breaks once it flows is the reader's error.
      return await retrying("read", key, () => client.getObject(bucket, name));
    } catch (e) {
      if (NOT_FOUND.has(codeOf(e))) throw missing(key);
      throw failure("read", key, e);
    }
  }

  return {
    location,

    async put(key: string, body: Buffer | string | Readable): Promise<StoredObject> {
      let name: string;
      try {
        name = objectName(key);
      } catch (e) {
        if (body instanceof Readable) body.destroy();
        throw e;
      }
      return upload(key, name, body instanceof Readable ? body : [toBuffer(body)]);
    },

    async writer(key: string): Promise<ObjectWriter> {
      const name = objectName(key);
      const path = join(spoolDir, `${spoolStem(name)}${randomBytes(6).toString("hex")}.partial`);
      let fh: FileHandle;
      try {
        // Only the spool folder itself is private; the folders above it are the state's.
        await mkdir(dirname(spoolDir), { recursive: true });
        await mkdir(spoolDir, { mode: 0o700 }).catch((e: unknown) => {
          if (codeOf(e) !== "EEXIST") throw e;
        });
        fh = await open(path, "wx", 0o600);
      } catch (e) {
        throw spoolError("create", key, path, e);
      }
      // Straight to the spool file.
      const appends = orderedAppends(
        async (data) => {
          let offset = 0;
          while (offset < data.length) offset += (await fh.write(data, offset, data.length - offset, null)).bytesWritten;
        },
        (e) => spoolError("write", key, path, e),
      );
      let state: "open" | "finished" | "failed" | "aborted" = "open";
      const closed = (op: string): Error => new Error(`cannot ${op} object ${key}: its writer is already ${state}`);
      const discard = async (): Promise<void> => {
        await fh.close().catch(() => undefined);
        await rm(path, { force: true }).catch(() => undefined);
      };
      return {
        write(chunk: Buffer | string): Promise<void> {
          if (state !== "open") return Promise.reject(closed("write to"));
          return appends.append(chunk);
        },
        async finish(): Promise<StoredObject> {
          if (state !== "open") throw closed("finish");
          state = "finished";
          let written: { size: number; sha256: string };
          try {
            written = await appends.settle();
          } catch (e) {
            await discard();
            throw e;
          }
          try {
            await fh.close();
          } catch (e) {
            await discard();
            throw spoolError("close", key, path, e);
          }
          try {
            const stored = await upload(key, name, createReadStream(path));
            await rm(path, { force: true }).catch(() => undefined);
            return { ...stored, ...written };
          } catch (e) {
            // The spool stays: `salvage` can still publish it, `abort` removes it.
            state = "failed";
            throw e;
          }
        },
        async abort(): Promise<void> {
          if (state !== "open" && state !== "failed") return;
          state = "aborted";
          await appends.settle().catch(() => undefined);
          await discard();
        },
      };
    },

    async salvage(key: string): Promise<StoredObject | undefined> {
      const name = objectName(key);
      const spools = await spoolFiles(name);
      if (spools.length === 0) return undefined;
      if ((await statObject(key, name)) !== undefined) {
        // Never over a finished object; what a dead writer left is of no use then.
        for (const s of spools) await rm(s.path, { force: true }).catch(() => undefined);
        return undefined;
      }
      // The longest is the one that got furthest; the others are older attempts' leftovers.
      spools.sort((a, b) => b.size - a.size);
      const keep = spools[0] as { path: string; size: number };
      const stored = await upload(key, name, createReadStream(keep.path));
      for (const s of spools) await rm(s.path, { force: true }).catch(() => undefined);
      options.log?.(`salvaged ${stored.size} bytes of ${key} from ${keep.path}`);
      return stored;
    },

    async get(key: string): Promise<Readable> {
      const source = await openObject(key);
      const out = new PassThrough();
      source.on("error", (e) => out.destroy(failure("read", key, e)));
      out.on("close", () => source.destroy());
      source.pipe(out);
      return out;
    },

    async getBuffer(key: string): Promise<Buffer> {
      const source = await openObject(key);
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of source) chunks.push(toBuffer(chunk));
      } catch (e) {
        throw failure("read", key, e);
      }
      return Buffer.concat(chunks);
    },

    async stat(key: string): Promise<ObjectInfo | undefined> {
      return statObject(key, objectName(key));
    },

    async list(prefix: string): Promise<ObjectInfo[]> {
      checkObjectPrefix(prefix);
      await ensureBucket();
      const strip = base === "" ? "" : `${base}/`;
      let out: ObjectInfo[] = [];
      await call(
        "list",
        prefix === "" ? undefined : `${prefix}*`,
        () =>
          new Promise<void>((resolve, reject) => {
            // A retried listing starts over.
            out = [];
            const stream = client.listObjectsV2(bucket, `${strip}${prefix}`, true);
            stream.on("data", (item: BucketItem) => {
              if (item.name === undefined || !item.name.startsWith(strip)) return;
              const key = item.name.slice(strip.length);
              try {
                checkObjectKey(key); // folder markers ("a/") and names no key can have are not objects here
              } catch {
                return;
              }
              out.push({ key, size: item.size, modified: item.lastModified });
            });
            stream.on("error", reject);
            stream.on("end", () => resolve());
          }),
      );
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },

    async delete(key: string): Promise<void> {
      const name = objectName(key);
      await ensureBucket();
      try {
        await retrying("delete", key, () => client.removeObject(bucket, name));
      } catch (e) {
        if (NOT_FOUND.has(codeOf(e))) return;
        throw failure("delete", key, e);
      }
    },

    async downloadUrl(key: string, expiresInSeconds = MAX_PRESIGN_SECONDS): Promise<string> {
      const name = objectName(key);
      if (anonymous) {
        // No keys, nothing to sign with: a public bucket's plain URL.
        const path = name.split("/").map(encodeURIComponent).join("/");
        const virtualHost = !config.pathStyle && !(publicEndpoint.useSSL && bucket.includes("."));
        const { origin } = publicEndpoint;
        return virtualHost ? origin.replace("://", `://${bucket}.`) + `/${path}` : `${origin}/${bucket}/${path}`;
      }
      const expires = Math.min(MAX_PRESIGN_SECONDS, Math.max(1, Math.floor(expiresInSeconds)));
      return call("sign a download URL for", key, () => presigner.presignedGetObject(bucket, name, expires));
    },
  };
}
