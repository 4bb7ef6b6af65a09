/**
 * Content addresses. Every blob of an image is named by the sha256 of its bytes, and a digest
 * read from anywhere (a base layout's index.json, a registry's manifest) is untrusted: it becomes
 * a file name under `blobs/sha256/`, so it is checked against the one form condaops accepts before
 * any use, and content is hashed while it streams and compared before it is kept.
 */
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { Transform } from "node:stream";
import type { TransformCallback } from "node:stream";
import { InputError } from "../../errors.ts";

/** The only digest form condaops reads or writes (the OCI spec's registered sha256). */
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** The hex part of a checked digest: its file name under `blobs/sha256/`. */
export function digestHex(digest: string): string {
  return digest.slice("sha256:".length);
}

/** Throws unless `value` is a `sha256:<64 lowercase hex>` digest; `where` names what carried it. */
export function checkDigest(value: unknown, where: string): string {
  if (typeof value === "string" && DIGEST_RE.test(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new InputError("oci.digest", `${where}: ${shown} is not a sha256 digest (sha256:<64 hex digits>)`, {
    hint: "the image is malformed or uses a digest algorithm condaops does not read (only sha256)",
  });
}

/** A pass-through stream that hashes and counts what goes through it, failing past `maxBytes` (what a descriptor announced). */
export class DigestCounter extends Transform {
  private readonly hash: Hash = createHash("sha256");
  private final?: string;
  bytes = 0;

  constructor(
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    private readonly what = "the content",
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new InputError("oci.blob-size", `${this.what} is longer than the ${this.maxBytes} bytes its descriptor says`, { hint: "the image is corrupt or hostile; it was not used" }));
      return;
    }
    cb(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    this.final ??= `sha256:${this.hash.digest("hex")}`;
    return this.final;
  }
}
