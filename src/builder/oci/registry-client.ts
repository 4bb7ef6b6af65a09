/**
 * A client of the OCI distribution API, the part condaops needs: pull a manifest and blobs (every
 * one checked against its digest), push blobs and a manifest. HTTPS, or plain HTTP for the hosts
 * of `oci.insecure_registries`; authentication by registry-auth.ts on the first 401. Uploads are
 * a POST opening a session then one PUT (blobs up to `chunkSize`) or PATCHes of `chunkSize` bytes
 * and a closing PUT, each chunk read from the file when it is sent: a layer of any size never
 * sits in memory. Reads are retried on network errors, 429 and 5xx; writes are not (a half-made
 * upload session cannot be resumed blindly), the push is simply run again by the next build.
 */
import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { OciRegistryCredential } from "../../config/types.ts";
import { InfraError, InputError } from "../../errors.ts";
import { backoffMs, sleep } from "../channels/backoff.ts";
import { redactText } from "../channels/redact.ts";
import { MAX_DOCUMENT_BYTES, MEDIA_TYPES } from "./descriptors.ts";
import type { Descriptor } from "./descriptors.ts";
import { DIGEST_RE, sha256Digest } from "./digest.ts";
import { registryEndpoint, sameRegistry } from "./image-reference.ts";
import { RegistryAuth } from "./registry-auth.ts";

export interface RegistryClientOptions {
  credentials?: readonly OciRegistryCredential[];
  /** `host[:port]` spoken to over plain HTTP. */
  insecureRegistries?: readonly string[];
  /** Blobs larger than this are uploaded in chunks of this size. Default 32 MiB. */
  chunkSize?: number;
  /** Attempts for reads failing on the network, 429 or 5xx. Default 4. */
  attempts?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** What `GET /v2/<repo>/manifests/<ref>` accepts: images and indexes, OCI and Docker. */
const MANIFEST_ACCEPT = [MEDIA_TYPES.manifest, MEDIA_TYPES.index, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList].join(", ");
const DEFAULT_CHUNK = 32 * 1024 * 1024;

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

interface Request {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH";
  url: URL;
  scope: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses returned to the caller rather than turned into errors. */
  expect: number[];
}

export class RegistryClient {
  private readonly base: URL;
  private readonly auth: RegistryAuth;
  private readonly doFetch: typeof fetch;
  private readonly insecure: readonly string[];

  constructor(
    readonly registry: string,
    private readonly o: RegistryClientOptions = {},
  ) {
    this.insecure = o.insecureRegistries ?? [];
    const endpoint = registryEndpoint(registry);
    this.base = new URL(`${this.isInsecure(registry) ? "http" : "https"}://${endpoint}/`);
    this.doFetch = o.fetch ?? fetch;
    const credential = o.credentials?.find((c) => sameRegistry(c.host, registry));
    this.auth = new RegistryAuth({
      registry,
      ...(credential ? { credential: { ...(credential.username !== undefined ? { username: credential.username } : {}), ...(credential.password !== undefined ? { password: credential.password } : {}) } } : {}),
      // A token service on the insecure registry's own machine (another port) is as trusted as it.
      plainHttpAllowed: (url) => this.isInsecure(url.host) || (this.base.protocol === "http:" && url.hostname === this.base.hostname),
      fetch: this.doFetch,
      ...(o.signal ? { signal: o.signal } : {}),
    });
  }

  private isInsecure(host: string): boolean {
    return this.insecure.some((h) => sameRegistry(h, host));
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  static pullScope = (repo: string): string => `repository:${repo}:pull`;
  static pushScope = (repo: string): string => `repository:${repo}:pull,push`;

  /** Text for messages, with every secret in play masked. */
  private clean(text: string): string {
    return redactText(text, this.auth.secrets);
  }

  private async errorText(res: Response): Promise<string> {
    try {
      const text = (await res.text()).slice(0, 2000);
      const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
      const parts = (body.errors ?? []).map((e) => [e.code, e.message].filter((x) => typeof x === "string").join(": ")).filter(Boolean);
      return parts.length ? `: ${this.clean(parts.join("; ").slice(0, 300))}` : "";
    } catch {
      return "";
    }
  }

  private async send(r: Request): Promise<Response> {
    const attempts = r.method === "GET" || r.method === "HEAD" ? (this.o.attempts ?? 4) : 1;
    const what = `${r.method} ${this.registry}${r.url.pathname}`;
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      this.o.signal?.throwIfAborted();
      const headers: Record<string, string> = { ...(r.headers ?? {}) };
      const authorization = r.url.origin === this.base.origin ? this.auth.header(r.scope) : undefined;
      if (authorization) headers.authorization = authorization;
      let res: Response;
      try {
        res = await this.doFetch(r.url, {
          method: r.method,
          headers,
          ...(r.body !== undefined ? { body: r.body } : {}),
          ...(this.o.signal ? { signal: this.o.signal } : {}),
        });
      } catch (e) {
        if (this.o.signal?.aborted) throw e;
        if (attempt < attempts) {
          await sleep(backoffMs(attempt));
          continue;
        }
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new InfraError("oci.registry-unreachable", this.clean(`${what}: cannot reach ${this.base.origin} (${cause?.code ?? cause?.message ?? (e as Error).message})`), {
          hint: this.base.protocol === "https:" ? `check the network; a registry that speaks plain HTTP must be listed in oci.insecure_registries` : "check the network and that the registry runs",
          cause: e,
        });
      }
      if (r.expect.includes(res.status)) return res;
      if (res.status === 401 && !authRetried) {
        authRetried = true;
        const challenge = res.headers.get("www-authenticate");
        await res.arrayBuffer().catch(() => undefined);
        if (await this.auth.onUnauthorized(challenge, r.scope, authorization)) continue;
      }
      const detail = await this.errorText(res);
      if (res.status === 401 || res.status === 403) {
        throw new InfraError("oci.registry-auth", `${what}: HTTP ${res.status}${detail}`, { hint: `check oci.credentials for ${this.registry} and the rights they give on the repository` });
      }
      if ((res.status === 429 || res.status >= 500) && attempt < attempts) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw new InfraError("oci.registry", `${what}: HTTP ${res.status}${detail}`, { hint: res.status >= 500 ? "the registry failed; try again later" : "the registry refused the request" });
    }
  }

  /** A response body, refusing more than `limit` bytes. */
  private async bodyBytes(res: Response, limit: number, what: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    if (res.body) {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > limit) {
          await res.body.cancel().catch(() => undefined);
          throw new InputError("oci.too-large", `${what} is larger than ${limit} bytes`, { hint: "the registry served something that is not an image document" });
        }
        chunks.push(Buffer.from(chunk));
      }
    }
    return Buffer.concat(chunks);
  }

  /** A manifest or index by tag or digest, its digest checked: against the reference when it is one, else against `Docker-Content-Digest` when the registry sends it. */
  async manifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.send({ method: "GET", url: this.url(`/v2/${repo}/manifests/${reference}`), scope: RegistryClient.pullScope(repo), headers: { accept: MANIFEST_ACCEPT }, expect: [200, 404] });
    const where = `${this.registry}/${repo}${DIGEST_RE.test(reference) ? "@" : ":"}${reference}`;
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined);
      throw new InputError("oci.not-found", `${where} does not exist`, { hint: "check the image reference (oci.base): its repository, tag or digest" });
    }
    const bytes = await this.bodyBytes(res, MAX_DOCUMENT_BYTES, `the manifest ${where}`);
    const digest = sha256Digest(bytes);
    const announced = res.headers.get("docker-content-digest");
    const expected = DIGEST_RE.test(reference) ? reference : announced !== null && announced.startsWith("sha256:") ? announced : undefined;
    if (expected !== undefined && expected !== digest) {
      throw new InputError("oci.blob-digest", `the manifest ${where} has digest ${digest}, not ${expected}`, { hint: "the registry (or something between) served other content; the image was not used" });
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
    try {
      const declared = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
      if (typeof declared === "string") mediaType = declared;
    } catch {
      // parsed (and refused) by the caller
    }
    return { bytes, mediaType, digest };
  }

  private async getBlob(repo: string, d: Descriptor): Promise<Response> {
    const res = await this.send({ method: "GET", url: this.url(`/v2/${repo}/blobs/${d.digest}`), scope: RegistryClient.pullScope(repo), expect: [200, 404] });
    if (res.status === 404) {
      await res.arrayBuffer().catch(() => undefined);
      throw new InputError("oci.missing-blob", `${this.registry}/${repo}: blob ${d.digest} does not exist`, { hint: "the image refers to a blob the registry does not have; it cannot be used" });
    }
    return res;
  }

  /** A small blob (a configuration) in memory, checked against its descriptor. */
  async blobBytes(repo: string, d: Descriptor, what: string): Promise<Buffer> {
    if (d.size > MAX_DOCUMENT_BYTES) throw new InputError("oci.too-large", `${what} is ${d.size} bytes, more than ${MAX_DOCUMENT_BYTES}`);
    const bytes = await this.bodyBytes(await this.getBlob(repo, d), d.size, what);
    const digest = sha256Digest(bytes);
    if (bytes.length !== d.size || digest !== d.digest) {
      throw new InputError("oci.blob-digest", `${what}: its content (${bytes.length} bytes, ${digest}) does not match its descriptor (${d.size} bytes, ${d.digest})`, { hint: "the image is corrupt or was tampered with; it was not used" });
    }
    return bytes;
  }

  /** A blob as a stream; the reader checks it (ImageLayout.putStream). */
  async blobStream(repo: string, d: Descriptor): Promise<Readable> {
    const res = await this.getBlob(repo, d);
    if (!res.body) return Readable.from([]);
    return Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>);
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.send({ method: "HEAD", url: this.url(`/v2/${repo}/blobs/${digest}`), scope: RegistryClient.pushScope(repo), expect: [200, 404] });
    return res.status === 200;
  }

  private location(res: Response, what: string): URL {
    const loc = res.headers.get("location");
    if (!loc) throw new InfraError("oci.registry", `${what}: the registry gave no upload location`, { hint: "the registry does not follow the distribution API" });
    return new URL(loc, this.base);
  }

  /** Uploads the blob `d` from `file` unless the repository has it; returns whether it was sent. */
  async pushBlob(repo: string, d: Descriptor, file: string): Promise<boolean> {
    if (await this.hasBlob(repo, d.digest)) return false;
    const scope = RegistryClient.pushScope(repo);
    const started = await this.send({ method: "POST", url: this.url(`/v2/${repo}/blobs/uploads/`), scope, headers: { "content-length": "0" }, expect: [202] });
    await started.arrayBuffer().catch(() => undefined);
    let url = this.location(started, `POST ${this.registry}/v2/${repo}/blobs/uploads/`);
    const chunk = Math.max(1, this.o.chunkSize ?? DEFAULT_CHUNK);
    const fh = await open(file, "r");
    try {
      const read = async (offset: number, length: number): Promise<Buffer> => {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new InfraError("oci.blob-read", `${file} is shorter than the ${d.size} bytes of ${d.digest}`);
        return buf;
      };
      let body: Buffer | undefined;
      if (d.size <= chunk) {
        body = await read(0, d.size);
      } else {
        for (let offset = 0; offset < d.size; offset += chunk) {
          const part = await read(offset, Math.min(chunk, d.size - offset));
          const res = await this.send({
            method: "PATCH",
            url,
            scope,
            headers: { "content-type": "application/octet-stream", "content-range": `${offset}-${offset + part.length - 1}` },
            body: part,
            expect: [202],
          });
          await res.arrayBuffer().catch(() => undefined);
          url = this.location(res, `PATCH ${this.registry}/v2/${repo}/blobs/uploads/`);
        }
      }
      url.searchParams.set("digest", d.digest);
      const done = await this.send({ method: "PUT", url, scope, headers: { "content-type": "application/octet-stream" }, ...(body ? { body } : {}), expect: [201] });
      await done.arrayBuffer().catch(() => undefined);
      return true;
    } finally {
      await fh.close();
    }
  }

  /** Puts a manifest under `reference` (a tag); returns its digest, checked against the registry's. */
  async putManifest(repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.send({ method: "PUT", url: this.url(`/v2/${repo}/manifests/${reference}`), scope: RegistryClient.pushScope(repo), headers: { "content-type": mediaType }, body: bytes, expect: [201] });
    await res.arrayBuffer().catch(() => undefined);
    const digest = sha256Digest(bytes);
    const announced = res.headers.get("docker-content-digest");
    if (announced !== null && announced !== digest) {
      throw new InfraError("oci.registry", `${this.registry}/${repo}:${reference}: the registry stored the manifest as ${announced}, not ${digest}`, { hint: "the registry rewrote the manifest; push to another registry" });
    }
    return digest;
  }
}
