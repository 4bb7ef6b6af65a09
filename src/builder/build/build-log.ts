/**
 * The build log: timestamped, redacted lines, echoed as they come and streamed to object storage
 * in a few large appends (every `flushBytes`, or `flushMs` after the first unwritten line), never
 * one storage write per line and never a rewrite of what was already written.
 */
import type { ObjectWriter, StoredObject } from "../../blobs/storage.ts";
import { redactText } from "../channels/redact.ts";

export interface BuildLogOptions {
  /** Receives each line as stored (timestamped and redacted), without the newline. */
  echo?: (line: string) => void;
  /** Literal secrets (tokens, passwords) to mask as `***`; URLs with credentials are always masked. */
  secrets?: string[];
  /** Write to storage when this many bytes are buffered. Default 64 KiB. */
  flushBytes?: number;
  /** Write to storage at most this long after a line was logged. Default 1000 ms. */
  flushMs?: number;
}

export interface BuildLog {
  /** Logs `text`; each of its lines gets a timestamp. After close/abort it is only echoed. */
  line(text: string): void;
  /** Writes what is buffered; resolves once storage has it (rejects with an earlier write failure). */
  flush(): Promise<void>;
  /** Flushes and finishes the object; rejects (and discards the object) if any write failed. */
  close(): Promise<StoredObject>;
  /** Discards the log: nothing is left in storage. */
  abort(): Promise<void>;
}

export function createBuildLog(writer: ObjectWriter, options: BuildLogOptions = {}): BuildLog {
  const { echo, secrets = [], flushBytes = 64 * 1024, flushMs = 1000 } = options;
  let buffer: string[] = [];
  let buffered = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failure: { error: unknown } | undefined;
  let tail: Promise<void> = Promise.resolve();
  let state: "open" | "closing" | "closed" = "open";

  const stopTimer = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };

  /** Hands the buffer to the writer, behind any write already in flight (one at a time, in order). */
  const writeBuffer = (): Promise<void> => {
    stopTimer();
    if (buffered > 0) {
      const chunk = buffer.join("");
      buffer = [];
      buffered = 0;
      tail = tail.then(async () => {
        if (failure !== undefined) return;
        try {
          await writer.write(chunk);
        } catch (error) {
          failure = { error };
        }
      });
    }
    return tail;
  };

  const flush = async (): Promise<void> => {
    await writeBuffer();
    if (failure !== undefined) throw failure.error;
  };

  return {
    line(text: string): void {
      const stamp = new Date().toISOString();
      for (const raw of String(text).replace(/\r?\n$/, "").split(/\r?\n/)) {
        const line = `${stamp} ${redactText(raw.replace(/\r/g, ""), secrets)}`;
        echo?.(line);
        if (state !== "open") continue;
        buffer.push(`${line}\n`);
        buffered += Buffer.byteLength(line, "utf8") + 1;
      }
      if (state !== "open") return;
      if (buffered >= flushBytes) void writeBuffer();
      else if (buffered > 0 && timer === undefined) {
        timer = setTimeout(() => void writeBuffer(), flushMs);
        timer.unref();
      }
    },

    flush,

    async close(): Promise<StoredObject> {
      if (state !== "open") throw new Error("the build log is already closed");
      state = "closing";
      try {
        await flush();
      } catch (e) {
        await writer.abort().catch(() => undefined);
        state = "closed";
        throw e;
      }
      state = "closed";
      return writer.finish();
    },

    async abort(): Promise<void> {
      if (state === "closed") return;
      state = "closed";
      stopTimer();
      buffer = [];
      buffered = 0;
      await tail;
      await writer.abort();
    },
  };
}
