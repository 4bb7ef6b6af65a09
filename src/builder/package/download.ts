/**
 * Downloading one package archive: streamed to `<dest>.part` while sha256 and md5 are computed,
 * with the channel's credentials, an idle timeout, retries with backoff on network errors, 429
 * and 5xx (never on other 4xx), and resumption of a `.part` left by an earlier attempt or a
 * crashed process through an HTTP Range request when the server answers 206. Only a file whose
 * size and sha256 (md5 when the lock has no sha256) match the lock is renamed to `dest`; anything
 * else is deleted. `file://` URLs are copied through the same checks. The caller holds the
 * package's cache lock: `<dest>.part` has one writer.
 */
import { createHash } from "node:crypto";
import { backoffMs, sleep } from "../channels/backoff.ts";
import type { Hash } from "node:crypto";
// Small file operations are synchronous: a promise round trip through the thread pool costs ten
// times the call itself, per package. Only fsync, which waits for the disk, stays asynchronous.
import { closeSync, fsync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { ChannelCredential } from "../../config/types.ts";
import { InfraError, InputError, isCondaopsError } from "../../errors.ts";
import { authorize, credentialFor, secretsOf } from "../channels/credentials.ts";
import { redactText, redactUrl } from "../channels/redact.ts";

export interface ExpectedDigest {
  sha256?: string;
  md5?: string;
  size?: number;
}

export interface DownloadOptions {
  credentials?: readonly ChannelCredential[];
  /** Attempts for transient failures. Default 4. */
  attempts?: number;
  /** Abort an attempt after this long without receiving a byte. Default 60 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Bytes received (negative when a restart discards what was received). */
  onBytes?(delta: number): void;
  log?(line: string): void;
}

export interface DownloadResult {
  sha256: string;
  md5: string;
  size: number;
  /** Bytes of an earlier `.part` that were kept (0 when downloaded from the start). */
  resumedFrom: number;
  /** HTTP requests made. */
  requests: number;
}

/** A transient failure: worth another attempt. */
class Transient extends Error {}


interface Digest {
  sha: Hash;
  md5: Hash;
  size: number;
}
const newDigest = (): Digest => ({ sha: createHash("sha256"), md5: createHash("md5"), size: 0 });
const fsyncFd = promisify(fsync);
const writeAll = (fd: number, chunk: Uint8Array): void => {
  for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off);
};
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Reads a file through a digest (and optionally into the descriptor `out`), a MiB at a time. */
async function hashFile(path: string, d: Digest = newDigest(), out?: number): Promise<Digest> {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      const chunk = buf.subarray(0, n);
      d.sha.update(chunk);
      d.md5.update(chunk);
      d.size += n;
      if (out !== undefined) writeAll(out, chunk);
      if (n === buf.length) await yieldToLoop(); // a large file: let the event loop breathe
    }
  } finally {
    closeSync(fd);
  }
  return d;
}

/** The size and digests of a file on disk. */
export async function fileDigest(path: string): Promise<{ sha256: string; md5: string; size: number }> {
  const d = await hashFile(path);
  return { sha256: d.sha.digest("hex"), md5: d.md5.digest("hex"), size: d.size };
}

/** Which check failed, or undefined when the digests satisfy the lock. */
export function digestMismatch(got: { sha256: string; md5: string; size: number }, want: ExpectedDigest): string | undefined {
  if (want.size !== undefined && got.size !== want.size) return `size ${got.size} does not match the lock's ${want.size}`;
  if (want.sha256) return got.sha256 === want.sha256.toLowerCase() ? undefined : `sha256 ${got.sha256} does not match the lock's ${want.sha256}`;
  if (want.md5) return got.md5 === want.md5.toLowerCase() ? undefined : `md5 ${got.md5} does not match the lock's ${want.md5}`;
  return "the lock has neither a sha256 nor an md5 to check it against";
}

function checksumError(shown: string, why: string): InputError {
  return new InputError("package.checksum", `${shown}: ${why}: the package changed on the server or the download was corrupted`, {
    hint: "solve the lock again if the channel really replaced the file; otherwise retry",
  });
}

/** Downloads `url` (without credentials: they come from `credentials`) to `dest`, verified against `expected`. */
export async function downloadPackage(url: string, dest: string, expected: ExpectedDigest, opts: DownloadOptions = {}): Promise<DownloadResult> {
  if (!expected.sha256 && !expected.md5) throw new InputError("package.checksum", `${redactUrl(url)}: the lock has neither a sha256 nor an md5 for it`, { hint: "lock the environment again" });
  mkdirSync(dirname(dest), { recursive: true });
  return url.startsWith("file://") ? await copyLocal(url, dest, expected, opts) : await downloadHttp(url, dest, expected, opts);
}

async function finish(part: string, dest: string, d: Digest, expected: ExpectedDigest, shown: string): Promise<{ sha256: string; md5: string; size: number }> {
  const got = { sha256: d.sha.digest("hex"), md5: d.md5.digest("hex"), size: d.size };
  const bad = digestMismatch(got, expected);
  if (bad) {
    rmSync(part, { force: true });
    throw checksumError(shown, bad);
  }
  renameSync(part, dest);
  return got;
}

async function copyLocal(url: string, dest: string, expected: ExpectedDigest, opts: DownloadOptions): Promise<DownloadResult> {
  const src = fileURLToPath(url);
  const part = `${dest}.part`;
  const out = openSync(part, "w", 0o644);
  let d: Digest;
  try {
    d = await hashFile(src, newDigest(), out);
    await fsyncFd(out);
  } catch (e) {
    closeSync(out);
    rmSync(part, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new InfraError(code === "ENOENT" ? "package.not-found" : "package.read", `cannot read ${src}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`, { cause: e });
  }
  closeSync(out);
  opts.onBytes?.(d.size);
  return { ...(await finish(part, dest, d, expected, src)), resumedFrom: 0, requests: 0 };
}

async function downloadHttp(url: string, dest: string, expected: ExpectedDigest, opts: DownloadOptions): Promise<DownloadResult> {
  const credentials = opts.credentials ?? [];
  const secrets = secretsOf(credentials);
  const shown = redactUrl(url);
  const auth = authorize(url, credentialFor(url, credentials));
  const doFetch = opts.fetch ?? fetch;
  const attempts = Math.max(1, opts.attempts ?? 4);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const part = `${dest}.part`;
  let requests = 0;
  let reported = 0;
  const report = (delta: number): void => {
    reported += delta;
    opts.onBytes?.(delta);
  };
  let last = "";
  // A resumed download that fails its checksum gets one more try from the start.
  let fromScratch = false;

  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) await sleep(backoffMs(attempt));
    let offset = statSync(part, { throwIfNoEntry: false })?.size ?? 0;
    if (expected.size !== undefined && offset > expected.size) {
      rmSync(part, { force: true });
      offset = 0;
    }
    let d = newDigest();
    if (offset > 0) {
      d = await hashFile(part);
      // A crash between the last byte and the rename: the part may already be the whole file.
      if (expected.size === offset) {
        try {
          return { ...(await finish(part, dest, d, expected, shown)), resumedFrom: offset, requests };
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          offset = 0;
          d = newDigest();
        }
      }
    }
    if (reported !== offset) report(offset - reported);

    const headers: Record<string, string> = { ...auth.headers };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Transient(`no data for ${timeoutMs / 1000} s`)), timeoutMs);
    let res: Response;
    try {
      requests++;
      res = await doFetch(auth.url, { headers, signal: ac.signal, redirect: "follow" });
    } catch (e) {
      clearTimeout(timer);
      last = reason(e, ac.signal);
      opts.log?.(redactText(`download ${shown}: ${last}; ${attempt + 1 < attempts ? "retrying" : "giving up"}`, secrets));
      continue;
    }
    try {
      if (res.status === 404 || res.status === 410) {
        throw new InfraError("package.not-found", `${shown}: HTTP ${res.status}: the package is not on the server`, { hint: "the channel removed or never had it; solve the lock again" });
      }
      if (res.status === 401 || res.status === 403) {
        throw new InfraError("package.denied", `${shown}: access denied (HTTP ${res.status})`, {
          hint: credentialFor(url, credentials) ? "the configured credentials were refused; check the token or password" : "configure credentials for this channel under channels.credentials",
        });
      }
      if (res.status === 416 && offset > 0) {
        // The part is not a prefix of what the server has now: start again.
        rmSync(part, { force: true });
        throw new Transient("HTTP 416 for a resumed download");
      }
      if (res.status === 429 || res.status >= 500) throw new Transient(`HTTP ${res.status}`);
      if (res.status !== 200 && res.status !== 206) throw new InfraError("package.http", `${shown}: unexpected HTTP ${res.status}`);
      let append = false;
      if (res.status === 206) {
        const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
        append = offset > 0 && m !== null && Number(m[1]) === offset;
        if (!append) {
          rmSync(part, { force: true });
          throw new Transient("HTTP 206 with an unexpected Content-Range");
        }
      }
      if (!append && offset > 0) {
        opts.log?.(`download ${shown}: the server does not resume; starting again`);
        d = newDigest();
        report(-reported);
      }
      const declared = Number(res.headers.get("content-length") ?? Number.NaN);
      let out: number | undefined;
      const closeOut = (): void => {
        if (out === undefined) return;
        const fd = out;
        out = undefined;
        try {
          closeSync(fd);
        } catch {
          // already reported by the write that failed
        }
      };
      let received = 0;
      try {
        out = openSync(part, append ? "a" : "w", 0o644);
        if (!res.body) throw new Transient("empty response");
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          timer.refresh();
          d.sha.update(chunk);
          d.md5.update(chunk);
          d.size += chunk.length;
          received += chunk.length;
          if (expected.size !== undefined && d.size > expected.size) {
            closeOut();
            rmSync(part, { force: true });
            throw checksumError(shown, `the server sends more than the lock's ${expected.size} bytes`);
          }
          writeAll(out, chunk);
          report(chunk.length);
        }
        await fsyncFd(out);
      } catch (e) {
        if (isCondaopsError(e)) throw e;
        // A failed write (disk full) is not the network's fault: no retry.
        if (typeof (e as NodeJS.ErrnoException).syscall === "string") throw new InfraError("package.write", `cannot write ${part}: ${(e as Error).message}`, { hint: "check free space and permissions of the package cache" });
        throw new Transient(reason(e, ac.signal));
      } finally {
        closeOut();
      }
      if (Number.isFinite(declared) && res.headers.get("content-encoding") === null && received !== declared) throw new Transient(`cut off after ${received} of ${declared} bytes`);
      try {
        return { ...(await finish(part, dest, d, expected, shown)), resumedFrom: append ? offset : 0, requests };
      } catch (e) {
        if (e instanceof InputError && append && !fromScratch) {
          // finish() deleted the part.
          opts.log?.(`download ${shown}: the resumed file does not verify; downloading it again from the start`);
          fromScratch = true;
          attempt--; // this retry is not the network's fault
          continue;
        }
        throw e;
      }
    } catch (e) {
      if (!(e instanceof Transient)) {
        await res.body?.cancel().catch(() => undefined);
        throw isCondaopsError(e) ? e : new InfraError("package.write", redactText(`${shown}: ${(e as Error).message}`, secrets), { hint: "check free space and permissions of the package cache" });
      }
      last = e.message;
      await res.body?.cancel().catch(() => undefined);
      opts.log?.(redactText(`download ${shown}: ${last}; ${attempt + 1 < attempts ? "retrying" : "giving up"}`, secrets));
    } finally {
      clearTimeout(timer);
    }
  }
  throw new InfraError("package.download", redactText(`cannot download ${shown}: ${last} (after ${attempts} attempts)`, secrets), {
    hint: "check the network, the channel URL and any proxy; what was received is kept and resumed next time",
  });
}

/** A short reason for a failed request, without the URL (fetch errors name no URL; secrets are redacted by the caller anyway). */
function reason(e: unknown, signal: AbortSignal): string {
  if (signal.aborted && signal.reason instanceof Error) return signal.reason.message;
  if (e instanceof Transient) return e.message;
  if (e instanceof Error) return e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message;
  return String(e);
}
