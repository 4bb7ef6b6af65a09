/**
 * The part every streamed object writer shares (the local folder's partial file, the S3 spool):
 * chunks appended one at a time in call order, hashed and counted as they go, the first failure
 * remembered so every later append and the finish report it. What "finish" and "abort" do with
 * the bytes is the backend's.
 */
import { createHash } from "node:crypto";

export const toBuffer = (chunk: unknown): Buffer =>
  Buffer.isBuffer(chunk) ? chunk : typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk as Uint8Array);

export interface OrderedAppends {
  append(chunk: Buffer | string): Promise<void>;
  /** Waits for every append; the first failure if one failed, else the size and sha256 so far. */
  settle(): Promise<{ size: number; sha256: string }>;
}

/** `sink` writes one chunk (all of it); `wrapError` turns its failure into the error users read. */
export function orderedAppends(sink: (data: Buffer) => Promise<void>, wrapError: (e: unknown) => unknown = (e) => e): OrderedAppends {
  const hash = createHash("sha256");
  let size = 0;
  let failure: unknown;
  let tail: Promise<void> = Promise.resolve();
  return {
    append(chunk) {
      const data = toBuffer(chunk);
      const done = tail.then(async () => {
        if (failure !== undefined) throw failure;
        hash.update(data);
        size += data.length;
        try {
          await sink(data);
        } catch (e) {
          failure = wrapError(e);
          throw failure;
        }
      });
      tail = done.catch(() => undefined);
      return done;
    },
    async settle() {
      await tail;
      if (failure !== undefined) throw failure;
      return { size, sha256: hash.digest("hex") };
    },
  };
}
