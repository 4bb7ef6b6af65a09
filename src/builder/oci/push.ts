/**
 * Pushing an image from an OCI layout to a registry: every blob the manifest names (the config
 * and the layers, skipped when the repository already has them), then the manifest under its tag,
 * so a registry never holds a manifest whose blobs are missing. Returns the pushed image by
 * digest, the reference users pin.
 */
import pLimit from "p-limit";
import type { OciRegistryCredential } from "../../config/types.ts";
import { readFile } from "node:fs/promises";
import { parseManifest } from "./descriptors.ts";
import type { Descriptor } from "./descriptors.ts";
import { formatImageReference } from "./image-reference.ts";
import type { ImageReference } from "./image-reference.ts";
import { ImageLayout } from "./image-layout.ts";
import { RegistryClient } from "./registry-client.ts";

export interface PushOptions {
  credentials?: readonly OciRegistryCredential[];
  insecureRegistries?: readonly string[];
  /** Blobs uploaded at once. Default 3. */
  concurrency?: number;
  chunkSize?: number;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  log?(line: string): void;
}

export interface PushResult {
  /** `host/repository@sha256:...` */
  reference: string;
  digest: string;
  /** Blobs uploaded (the others were there already). */
  uploaded: number;
}

/** Pushes the image of `layoutDir` described by `manifest` to `target` (which must have a tag). */
export async function pushImage(layoutDir: string, manifest: Descriptor, target: ImageReference & { tag: string }, o: PushOptions = {}): Promise<PushResult> {
  const layout = ImageLayout.open(layoutDir);
  const bytes = await readFile(layout.blobPath(manifest.digest));
  const parsed = parseManifest(bytes, `${layoutDir}: manifest ${manifest.digest}`, manifest.mediaType);
  const client = new RegistryClient(target.registry, {
    ...(o.credentials ? { credentials: o.credentials } : {}),
    ...(o.insecureRegistries ? { insecureRegistries: o.insecureRegistries } : {}),
    ...(o.chunkSize ? { chunkSize: o.chunkSize } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const limit = pLimit(o.concurrency ?? 3);
  const sent = await Promise.all([parsed.config, ...parsed.layers].map((d) => limit(() => client.pushBlob(target.repository, d, layout.blobPath(d.digest)))));
  const digest = await client.putManifest(target.repository, target.tag, parsed.mediaType, bytes);
  const reference = formatImageReference({ registry: target.registry, repository: target.repository, digest });
  o.log?.(`oci: pushed ${formatImageReference(target)} as ${reference} (${sent.filter(Boolean).length} of ${sent.length} blobs uploaded)`);
  return { reference, digest, uploaded: sent.filter(Boolean).length };
}
