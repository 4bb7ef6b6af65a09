/**
 * The environment hash (DESIGN.md, "Words"): what identifies "the same installed packages" of one
 * platform, whatever commit, spec or lock file produced them, so two builds with equal hashes
 * can share one prefix, tarball or image.
 *
 * Definition (version 1), exactly: for every package of the platform (conda and pip), the line
 * `<url>#<sha256>\n` (the URL as locked, without credentials; the sha256 as lowercase hex); the
 * lines sorted by UTF-16 code unit (for these ASCII lines, byte order: what `LC_ALL=C sort`
 * gives); concatenated, UTF-8 encoded, hashed with sha256, written as 64 lowercase hex digits.
 * Package order in the lock, metadata, categories and the content hash do not enter it.
 *
 *   printf '%s\n' 'https://.../b.conda#<sha256>' 'https://.../a.conda#<sha256>' | LC_ALL=C sort | sha256sum
 */
import { createHash } from "node:crypto";
import type { Platform } from "../../spec/types.ts";
import { compareStrings, packagesForPlatform } from "./package-record.ts";
import type { Lock } from "./types.ts";

/** The sorted lines that are hashed. */
export function environmentHashInput(lock: Lock, platform: Platform): string {
  return packagesForPlatform(lock, platform)
    .map((p) => `${p.url}#${p.sha256.toLowerCase()}\n`)
    .sort(compareStrings)
    .join("");
}

/** sha256 hex of environmentHashInput. Throws InputError when the lock has no such platform. */
export function environmentHash(lock: Lock, platform: Platform): string {
  return createHash("sha256").update(environmentHashInput(lock, platform), "utf8").digest("hex");
}
