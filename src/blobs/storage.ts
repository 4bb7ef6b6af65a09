/**
 * Object storage for artifacts: keys are `/`-separated, deterministic
 * (`builds/<ns>/<name>/<commit>/<kind>/<file>`) and checked by `object-key.ts` for every backend.
 * Implementations: a local folder (`local-folder.ts`, the default) and an S3-compatible bucket
 * (`s3.ts`, `storage.kind: s3`); both pass the same contract (test/blobs/storage-contract.ts).
 */
import type { Readable } from "node:stream";

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  modified: Date;
}

/** A stream-in upload: `write` chunks as they come; `finish` makes the object visible under its key, `abort` leaves nothing. */
export interface ObjectWriter {
  write(chunk: Buffer | string): Promise<void>;
  finish(): Promise<StoredObject>;
  abort(): Promise<void>;
}

export interface BlobStorage {
  /** Human-readable location for messages (`/srv/condaops/blobs`, `s3://bucket/prefix (https://host)`); never a secret. */
  readonly location: string;
  /** Stores a whole object atomically (readers see the old object or the new, never a part). */
  put(key: string, body: Buffer | string | Readable): Promise<StoredObject>;
  /** Starts a streamed object; nothing is visible under `key` before `finish`. */
  writer(key: string): Promise<ObjectWriter>;
  get(key: string): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  /**
   * Publishes under `key` what a writer that never finished left behind (the log of a build whose
   * worker was killed), when the key holds no object yet; undefined when there is nothing. Call
   * only when that writer's process is known to be gone. For S3 the leftover is a spool file on
   * the dead writer's machine: only a process with the same spool folder can salvage it.
   */
  salvage(key: string): Promise<StoredObject | undefined>;
  /**
   * A URL a user can download the object from: `file://` locally; for S3 a presigned GET (for
   * `public_endpoint` when set) valid `expiresInSeconds` (default and most: 7 days), or the plain
   * URL when no keys are configured (a public bucket).
   */
  downloadUrl(key: string, expiresInSeconds?: number): Promise<string>;
}
