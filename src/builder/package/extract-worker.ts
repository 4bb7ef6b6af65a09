/**
 * The body of an extraction worker thread (extract-pool.ts): receives `{ id, archive, dest,
 * limits }`, runs extractArchive (every check of extract.ts applies unchanged, in this thread)
 * and answers `{ id, stats }` or `{ id, error }`. Errors cross the thread boundary as plain
 * data and are rebuilt into the same InputError / InfraError on the other side.
 */
import { parentPort } from "node:worker_threads";
import { isCondaopsError } from "../../errors.ts";
import type { SourcePosition } from "../../errors.ts";
import { extractArchive } from "./extract.ts";
import type { ExtractLimits, ExtractStats } from "./extract.ts";

export interface ExtractRequest {
  id: number;
  archive: string;
  dest: string;
  limits: ExtractLimits;
}

/** An error as data: a condaops error keeps its kind (exit code), code, hint and position. */
export interface WireError {
  exitCode?: 1 | 2 | 3;
  code?: string;
  message: string;
  hint?: string;
  position?: SourcePosition;
}

export type ExtractReply = { ready: true } | { id: number; stats: ExtractStats } | { id: number; error: WireError };

export function toWire(e: unknown): WireError {
  if (isCondaopsError(e)) return { exitCode: e.exitCode, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.position ? { position: e.position } : {}) };
  const err = e as NodeJS.ErrnoException | undefined;
  return { message: err instanceof Error ? err.message : String(e), ...(typeof err?.code === "string" ? { code: err.code } : {}) };
}

const port = parentPort;
if (port) {
  port.on("message", (req: ExtractRequest) => {
    extractArchive(req.archive, req.dest, req.limits).then(
      (stats) => port.postMessage({ id: req.id, stats } satisfies ExtractReply),
      (e: unknown) => port.postMessage({ id: req.id, error: toWire(e) } satisfies ExtractReply),
    );
  });
  port.postMessage({ ready: true } satisfies ExtractReply);
}
