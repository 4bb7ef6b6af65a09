/**
 * The build job's artifact phases. Making: every kind the policy asks for, in parallel (a pack
 * and an image are each seconds of compression), each stored as it is made. Publishing beyond
 * the store (a maker's `afterStored`: the image pushed to a registry): only once every object is
 * stored. Each phase has its own abort signal, aborted by the build's (Ctrl-C) and by the first
 * failure, so the others stop instead of finishing work that cleanup would delete; every task
 * settles before the first real failure (not the aborts it caused) is reported, so cleanup
 * never races an upload still in flight.
 */
import { mkdir, mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { isCondaopsError } from "../../errors.ts";
import type { StoredObject } from "../../blobs/storage.ts";
import type { ArtifactKind } from "../../spec/types.ts";
import type { ArtifactRow } from "../../store/types.ts";
import { ARTIFACT_MAKERS } from "../artifacts/index.ts";
import type { ArtifactInput, ArtifactMaker, StoredArtifact } from "../artifacts/index.ts";
import { artifactKey } from "../artifacts/artifact-key.ts";
import type { BuildServices } from "./services.ts";

/** The build was canceled (Ctrl-C): it ends `canceled`, not `failed`. */
export class Canceled extends Error {}

/** One artifact's failure, named by its kind; the cause's code and hint stay readable. */
export class ArtifactFailed extends Error {
  readonly hint: string | undefined;
  constructor(
    readonly kind: ArtifactKind,
    cause: unknown,
  ) {
    super(`${kind} artifact: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.hint = isCondaopsError(cause) ? cause.hint : undefined;
  }
}

/** `e` is (or was caused by) the abort of `signal`: a consequence of another failure or of Ctrl-C, not a failure of its own. */
export function causedByAbort(e: unknown, signal: AbortSignal): boolean {
  for (let c: unknown = e, depth = 0; c !== undefined && c !== null && depth < 8; depth++) {
    if (c === signal.reason || c instanceof Canceled || (c instanceof Error && c.name === "AbortError")) return true;
    c = c instanceof Error ? c.cause : undefined;
  }
  return false;
}

/** What both phases share with the build job. */
export interface ArtifactPhase {
  services: Pick<BuildServices, "blobs" | "signal">;
  buildId: number;
  keyPrefix: string;
  /** `<state>/tmp/build-<id>`: each maker gets a folder of its own under it. */
  workRoot: string;
  log(line: string): void;
  /** Every object stored, for cleanup when the build fails. */
  stored: StoredObject[];
  timings: Record<string, number>;
}

/** A maker's `afterStored`, with the input its `make` had (its workDir still there). */
export interface PendingPublish {
  kind: ArtifactKind;
  hook: NonNullable<ArtifactMaker["afterStored"]>;
  input: ArtifactInput;
}

type Failed = (kind: ArtifactKind, e: unknown) => void;

/** Runs `run`'s parallel tasks under one abort signal (see the module header). */
async function inParallel(ctx: ArtifactPhase, run: (signal: AbortSignal, failed: Failed) => Promise<void>): Promise<void> {
  const outer = ctx.services.signal;
  const phase = new AbortController();
  const cancel = () => phase.abort(new Canceled("canceled"));
  if (outer?.aborted) cancel();
  outer?.addEventListener("abort", cancel, { once: true });
  let first: ArtifactFailed | undefined;
  let anyFailed = false;
  const failed: Failed = (kind, e) => {
    anyFailed = true;
    if (!phase.signal.aborted) {
      first = new ArtifactFailed(kind, e);
      ctx.log(`${kind}: failed, stopping the other artifacts`);
      phase.abort(first);
    } else if (!causedByAbort(e, phase.signal)) {
      ctx.log(`FAILED too: ${new ArtifactFailed(kind, e).message}`);
    }
  };
  try {
    await run(phase.signal, failed);
  } finally {
    outer?.removeEventListener("abort", cancel);
  }
  if (anyFailed && outer?.aborted) {
    if (first) ctx.log(`FAILED before the cancel: ${first.message}`);
    throw new Canceled("canceled");
  }
  if (first) throw first;
}

const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Makes and stores the artifacts of `kinds`. Rows and stored artifacts come back in key order
 * (build.json lists them so, whichever maker finished first); the `afterStored` hooks to run
 * once everything is stored come back too.
 */
export async function makeArtifacts(
  ctx: ArtifactPhase,
  common: Omit<ArtifactInput, "workDir" | "signal" | "log">,
  kinds: ReadonlySet<ArtifactKind>,
): Promise<{ rows: ArtifactRow[]; made: StoredArtifact[]; afterStored: PendingPublish[] }> {
  const { blobs } = ctx.services;
  const rows: ArtifactRow[] = [];
  const made: StoredArtifact[] = [];
  const afterStored: PendingPublish[] = [];
  const pending = [...kinds].filter((k) => k !== "log" && ARTIFACT_MAKERS[k] === undefined);
  if (pending.length > 0) ctx.log(`not made by this version of condaops yet: ${pending.join(", ")}`);
  await mkdir(ctx.workRoot, { recursive: true });
  await inParallel(ctx, async (signal, failed) => {
    const makeOne = async (kind: ArtifactKind): Promise<void> => {
      const maker = ARTIFACT_MAKERS[kind];
      if (!maker) return;
      if (maker.needsPrefix && !common.installed) {
        ctx.log(`${kind}: skipped (nothing installed on this platform)`);
        return;
      }
      signal.throwIfAborted();
      const t = Date.now();
      const input: ArtifactInput = { ...common, workDir: await mkdtemp(join(ctx.workRoot, `${kind}-`)), signal, log: ctx.log };
      for (const f of await maker.make(input)) {
        // Another artifact failed (or Ctrl-C) while this one was made: nothing more to upload.
        signal.throwIfAborted();
        const key = artifactKey(ctx.keyPrefix, f.kind, f.file);
        const obj = await blobs.put(key, typeof f.body === "function" ? f.body() : f.body);
        ctx.stored.push(obj);
        rows.push({ buildId: ctx.buildId, kind: f.kind, key, size: obj.size, sha256: obj.sha256, platform: f.platform });
        made.push({ kind: f.kind, file: f.file, platform: f.platform, key, size: obj.size, sha256: obj.sha256 });
        ctx.log(`${f.kind}: ${key} (${obj.size} bytes, sha256 ${obj.sha256.slice(0, 12)})`);
      }
      if (maker.afterStored) afterStored.push({ kind, hook: maker.afterStored.bind(maker), input });
      ctx.timings[`artifact.${kind}`] = Date.now() - t;
    };
    await Promise.all([...kinds].map((kind) => makeOne(kind).catch((e: unknown) => failed(kind, e))));
  });
  // Ctrl-C while the makers ran, even if each finished: nothing is published yet.
  if (ctx.services.signal?.aborted) throw new Canceled("canceled");
  return { rows: rows.sort(byKey), made: made.sort(byKey), afterStored };
}

/** Runs the `afterStored` hooks (every object of the build is stored by now); the references they published. */
export async function publishBeyondStore(ctx: ArtifactPhase, afterStored: readonly PendingPublish[], made: readonly StoredArtifact[]): Promise<string[]> {
  const elsewhere: string[] = [];
  await inParallel(ctx, async (signal, failed) => {
    await Promise.all(
      afterStored.map(async ({ kind, hook, input }) => {
        try {
          signal.throwIfAborted();
          const t = Date.now();
          for (const ref of (await hook({ ...input, signal }, made)) ?? []) {
            elsewhere.push(ref);
            ctx.log(`${kind}: published ${ref}`);
          }
          ctx.timings[`publish.${kind}`] = Date.now() - t;
        } catch (e) {
          failed(kind, e);
        }
      }),
    );
  });
  return elsewhere;
}
