/**
 * Where a prefix sits inside a file's bytes, found once at pack time so that unpacking never scans.
 *
 * Text files only need to be known: every occurrence is replaced, whatever the length. Binaries
 * need the exact places: the installer (prefix-replace.ts, after conda's `binary_replace`) wrote
 * the prefix into NUL-terminated C strings and NUL-padded each to its old length, so the pack
 * records each such string as a template — its offset, its length up to the NUL, and the bytes
 * between the prefix's occurrences — and unpacking writes `segment0 + new + segment1 ... + NULs`
 * at the same offset. The regions here are exactly the ones replaceBinary rewrites (same scan
 * order, same NUL rule), so rendering a template with a prefix gives what replaceBinary would.
 */

export interface CStringRegion {
  /** Byte offset of the string's first occurrence of the prefix. */
  offset: number;
  /** Bytes from `offset` up to (not including) the terminating NUL: what must never grow. */
  length: number;
  /** The bytes around the occurrences: `segments.join(prefix)` is the string. segments[0] is empty. */
  segments: Buffer[];
}

export interface CStringScan {
  regions: CStringRegion[];
  /** Occurrences with no NUL after them: not C strings, left as they are (as replaceBinary does). */
  loose: number;
}

/** The C strings of `data` that contain `needle`, as replaceBinary(data, needle, ...) would rewrite them. */
export function cStringRegions(data: Buffer, needle: Buffer): CStringScan {
  const regions: CStringRegion[] = [];
  let loose = 0;
  if (needle.length === 0) return { regions, loose };
  let at = data.indexOf(needle);
  while (at >= 0) {
    const end = data.indexOf(0, at + needle.length);
    if (end < 0) {
      for (let i = at; i >= 0; i = data.indexOf(needle, i + needle.length)) loose++;
      break;
    }
    const segments: Buffer[] = [];
    let last = at;
    for (let i = data.indexOf(needle, at); i >= 0 && i + needle.length <= end; i = data.indexOf(needle, last)) {
      segments.push(Buffer.from(data.subarray(last, i)));
      last = i + needle.length;
    }
    segments.push(Buffer.from(data.subarray(last, end)));
    regions.push({ offset: at, length: end - at, segments });
    at = data.indexOf(needle, end + 1);
  }
  return { regions, loose };
}

/** The bytes fixed by the template (everything but the prefix occurrences). */
export const fixedBytes = (r: CStringRegion): number => r.segments.reduce((n, s) => n + s.length, 0);

/** The longest prefix (in bytes) that still fits the string with its NUL padding. */
export function regionCapacity(r: CStringRegion): number {
  const occurrences = r.segments.length - 1;
  return Math.floor((r.length - fixedBytes(r)) / occurrences);
}

/** The region's bytes for `prefix` (NUL-padded to `length`); undefined when the prefix does not fit. */
export function renderRegion(r: CStringRegion, prefix: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  r.segments.forEach((s, i) => {
    if (i > 0) parts.push(prefix);
    parts.push(s);
  });
  const body = Buffer.concat(parts);
  if (body.length > r.length) return undefined;
  return Buffer.concat([body, Buffer.alloc(r.length - body.length)]);
}

/** Writes every region for `prefix` into a copy of `data`. */
export function applyRegions(data: Buffer, regions: readonly CStringRegion[], prefix: Buffer): Buffer | undefined {
  const out = Buffer.from(data);
  for (const r of regions) {
    const bytes = renderRegion(r, prefix);
    if (!bytes) return undefined;
    bytes.copy(out, r.offset);
  }
  return out;
}

/**
 * Looks for a needle across chunks of a stream (occurrences may straddle two chunks) and notes
 * whether the content has a NUL byte (how a file with no placeholder metadata is told binary).
 */
export class StreamScanner {
  found = false;
  hasNul = false;
  private tail: Buffer = Buffer.alloc(0);

  constructor(private readonly needle: Buffer) {}

  push(chunk: Buffer): void {
    if (!this.hasNul && chunk.includes(0)) this.hasNul = true;
    if (this.found || this.needle.length === 0) return;
    const window = this.tail.length ? Buffer.concat([this.tail, chunk]) : chunk;
    if (window.includes(this.needle)) {
      this.found = true;
      return;
    }
    const keep = Math.min(this.needle.length - 1, window.length);
    this.tail = Buffer.from(window.subarray(window.length - keep));
  }
}
