/**
 * The repodata gateway: one channel subdir's records, from the on-disk cache when the server
 * says they have not changed (ETag / Last-Modified, answered 304), else downloaded once in the
 * smallest variant the channel offers (`repodata.json.zst`, `repodata.json`, `repodata.json.bz2`),
 * validated, and cached atomically. `file://` channels are read in place. Parsed subdirs are kept
 * in memory for the life of the gateway, so solving several platforms parses `noarch` once.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChannelCredential } from "../../config/types.ts";
import { InfraError } from "../../errors.ts";
import { writeFileAtomic } from "../../fs/write-atomic.ts";
import { zstdDecompress } from "../package/zstd-decoder.ts";
import { backoffMs, sleep } from "./backoff.ts";
import { authorize, credentialFor, secretsOf } from "./credentials.ts";
import { redactText, redactUrl } from "./redact.ts";
import { parseRepodata } from "./repodata.ts";
import type { Repodata } from "./repodata.ts";

export type Variant = "repodata.json.zst" | "repodata.json" | "repodata.json.bz2";
const VARIANTS: Variant[] = ["repodata.json.zst", "repodata.json", "repodata.json.bz2"];

export interface SubdirResult {
  repodata: Repodata;
  /** How the records were obtained: downloaded, confirmed unchanged (304), memory, or a local file. */
  source: "download" | "not-modified" | "memory" | "file" | "missing";
  /** Body bytes transferred for this call (0 when cached). */
  bytes: number;
}

export interface RepodataGateway {
  subdir(channelUrl: string, subdir: string): Promise<SubdirResult>;
}

export interface GatewayOptions {
  /** Cache folder (repodata goes to `<cacheDir>/repodata/`). */
  cacheDir: string;
  credentials?: readonly ChannelCredential[];
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Attempts for transient failures (network errors, 5xx). */
  attempts?: number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
}

interface CacheInfo {
  url: string;
  variant: Variant;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
}

export async function bunzip2(data: Buffer): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const child = spawn("bzip2", ["-dc"], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", (e) => reject(new InfraError("tool.missing", "bzip2 is needed to read .bz2 repodata", { hint: "install bzip2", cause: e })));
    child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`bzip2 -dc failed: ${err.trim()}`))));
    child.stdin.on("error", () => undefined);
    child.stdin.end(data);
  });
}

async function decode(variant: Variant, body: Buffer): Promise<Buffer> {
  if (variant === "repodata.json.zst") return zstdDecompress(body);
  if (variant === "repodata.json.bz2") return await bunzip2(body);
  return body;
}


export function createRepodataGateway(options: GatewayOptions): RepodataGateway {
  const credentials = options.credentials ?? [];
  const secrets = secretsOf(credentials);
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const attempts = options.attempts ?? 3;
  const dir = join(options.cacheDir, "repodata");
  const memory = new Map<string, Promise<SubdirResult>>();

  const missing = (channel: string, subdir: string, why: string): SubdirResult => {
    if (subdir === "noarch") {
      throw new InfraError("channel.not-found", `${channel} has no noarch/repodata.json (${why}): it is not a conda channel, or it does not exist`, {
        hint: "check the channel name or URL, and channels.alias / --channel-alias",
      });
    }
    options.log?.(`warning: ${channel} has no ${subdir} subdir (${why}); using its noarch packages only`);
    return { repodata: { subdir, records: [] }, source: "missing", bytes: 0 };
  };

  async function fromFile(channelUrl: string, subdir: string): Promise<SubdirResult> {
    const root = fileURLToPath(channelUrl);
    for (const variant of VARIANTS) {
      let body: Buffer;
      try {
        body = await readFile(join(root, subdir, variant));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw new InfraError("channel.read", `cannot read ${channelUrl}/${subdir}/${variant}`, { cause: e });
      }
      const repodata = parseRepodata(await decode(variant, body), { channel: channelUrl, subdir });
      return { repodata, source: "file", bytes: 0 };
    }
    return missing(channelUrl, subdir, "no repodata.json file");
  }

  /** One HTTP request with retries on transient failures; 4xx are answered, not retried. */
  async function request(url: string, headers: Record<string, string>, label: string): Promise<Response> {
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(backoffMs(i));
      try {
        const res = await doFetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: "follow" });
        if (res.status >= 500) {
          last = new Error(`HTTP ${res.status}`);
          await res.body?.cancel();
          continue;
        }
        return res;
      } catch (e) {
        last = e;
      }
    }
    const reason = last instanceof Error ? (last.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (last.cause instanceof Error ? last.cause.message : last.message)) : String(last);
    throw new InfraError("channel.unreachable", redactText(`cannot download ${label}: ${reason} (after ${attempts} attempts)`, secrets), {
      hint: "check the network, the channel URL and any proxy; the repodata cache is used only when the server confirms it is current",
    });
  }

  async function fromHttp(channelUrl: string, subdir: string): Promise<SubdirResult> {
    const shown = redactUrl(channelUrl);
    const cred = credentialFor(channelUrl, credentials);
    const key = createHash("sha256").update(`${channelUrl}/${subdir}\0${cred?.prefix ?? ""}`).digest("hex").slice(0, 24);
    const dataPath = join(dir, `${key}.json`);
    const infoPath = join(dir, `${key}.info.json`);
    let info: CacheInfo | undefined;
    try {
      info = JSON.parse(await readFile(infoPath, "utf8")) as CacheInfo;
    } catch {
      info = undefined;
    }
    const order = info ? [info.variant, ...VARIANTS.filter((v) => v !== info?.variant)] : VARIANTS;
    for (const variant of order) {
      const target = `${channelUrl}/${subdir}/${variant}`;
      const { url, headers } = authorize(target, cred);
      if (info?.variant === variant) {
        if (info.etag) headers["if-none-match"] = info.etag;
        if (info.lastModified) headers["if-modified-since"] = info.lastModified;
      }
      const res = await request(url, headers, `${shown}/${subdir}/${variant}`);
      if (res.status === 304 && info) {
        try {
          const repodata = parseRepodata(await readFile(dataPath), { channel: shown, subdir });
          await writeFileAtomic(infoPath, JSON.stringify({ ...info, fetchedAt: new Date().toISOString() }));
          return { repodata, source: "not-modified", bytes: 0 };
        } catch {
          // The cached copy is gone or damaged: fetch it again without conditions.
          info = undefined;
          const again = await request(url, Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith("if-"))), `${shown}/${subdir}/${variant}`);
          if (again.status !== 200) throw new InfraError("channel.http", `${shown}/${subdir}/${variant}: HTTP ${again.status}`);
          return await store(again, variant, shown, subdir, dataPath, infoPath, target);
        }
      }
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        continue;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new InfraError("channel.denied", `${shown}/${subdir}: access denied (HTTP ${res.status})`, {
          hint: cred ? "the configured credentials were refused; check the token or password" : "configure credentials for this channel under channels.credentials",
        });
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new InfraError("channel.http", `${shown}/${subdir}/${variant}: unexpected HTTP ${res.status}`);
      }
      return await store(res, variant, shown, subdir, dataPath, infoPath, target);
    }
    return missing(shown, subdir, "HTTP 404");
  }

  async function store(res: Response, variant: Variant, shown: string, subdir: string, dataPath: string, infoPath: string, target: string): Promise<SubdirResult> {
    let body: Buffer;
    try {
      body = Buffer.from(await res.arrayBuffer());
    } catch (e) {
      throw new InfraError("channel.unreachable", `download of ${shown}/${subdir}/${variant} was cut off`, { hint: "retry", cause: e });
    }
    const expected = Number(res.headers.get("content-length") ?? Number.NaN);
    if (Number.isFinite(expected) && res.headers.get("content-encoding") === null && body.length !== expected) {
      throw new InfraError("repodata.truncated", `download of ${shown}/${subdir}/${variant} was truncated (${body.length} of ${expected} bytes)`, { hint: "retry" });
    }
    let json: Buffer;
    try {
      json = await decode(variant, body);
    } catch (e) {
      throw new InfraError("repodata.invalid", `${shown}/${subdir}/${variant} does not decompress (truncated or corrupt)`, { hint: "retry", cause: e });
    }
    const repodata = parseRepodata(json, { channel: shown, subdir });
    await mkdir(dir, { recursive: true });
    await writeFileAtomic(dataPath, json);
    const info: CacheInfo = { url: redactUrl(target), variant, fetchedAt: new Date().toISOString() };
    const etag = res.headers.get("etag");
    const lastModified = res.headers.get("last-modified");
    if (etag) info.etag = etag;
    if (lastModified) info.lastModified = lastModified;
    await writeFileAtomic(infoPath, JSON.stringify(info));
    return { repodata, source: "download", bytes: body.length };
  }

  return {
    async subdir(channelUrl, subdir) {
      const url = channelUrl.replace(/\/+$/, "");
      const key = `${url}/${subdir}`;
      const hit = memory.get(key);
      if (hit) return { ...(await hit), source: "memory", bytes: 0 };
      const p = url.startsWith("file://") ? fromFile(url, subdir) : fromHttp(url, subdir);
      memory.set(key, p);
      p.catch(() => memory.delete(key));
      return await p;
    },
  };
}
