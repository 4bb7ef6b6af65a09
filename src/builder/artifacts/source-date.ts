/**
 * The one date an artifact may carry (an SBOM's timestamp, the tarball's mtimes): a function of
 * the build's input, never of when it ran, so rebuilding a commit gives the same bytes. It is the
 * commit's date (`commitDate`); for a caller without one (an empty or invalid string), the as-of
 * date the lock was solved at, else the newest package timestamp of the lock; undefined when
 * none is known.
 */
import type { ArtifactInput } from "./types.ts";

export function sourceDate(input: Pick<ArtifactInput, "lock" | "commitDate">): Date | undefined {
  const valid = (d: Date): Date | undefined => (Number.isFinite(d.getTime()) ? d : undefined);
  if (input.commitDate) {
    const d = valid(new Date(input.commitDate));
    if (d) return d;
  }
  const asOf = input.lock.metadata["condaops.as-of"];
  if (asOf) {
    const d = valid(new Date(asOf));
    if (d) return d;
  }
  let newest: number | undefined;
  for (const p of input.lock.packages) if (p.timestamp !== undefined && (newest === undefined || p.timestamp > newest)) newest = p.timestamp;
  return newest === undefined ? undefined : valid(new Date(newest));
}
