/** A build's artifacts as a reader wants them: kind, platform, key, size, sha256 and where to download it. */
import type { BlobStorage } from "../../blobs/storage.ts";
import type { BuildStore } from "../../store/types.ts";

export interface PublishedArtifact {
  kind: string;
  platform: string | null;
  key: string;
  size: number;
  sha256: string;
  url: string;
}

export async function publishedArtifacts(services: { store: BuildStore; blobs: BlobStorage }, buildId: number): Promise<PublishedArtifact[]> {
  const rows = await services.store.listArtifacts(buildId);
  return Promise.all(rows.map(async (a) => ({ kind: a.kind, platform: a.platform, key: a.key, size: a.size, sha256: a.sha256, url: await services.blobs.downloadUrl(a.key) })));
}
