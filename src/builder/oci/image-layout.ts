/**
 * An OCI image layout being written (`oci-layout`, `index.json`, `blobs/sha256/<hex>`), and its
 * delivery as one tar archive (what `skopeo` calls `oci-archive:`). Every blob is named by the
 * sha256 of what was actually written: content copied from elsewhere is hashed on the way and
 * kept only when it matches the digest it was announced with, so a layout never holds a blob
 * under a wrong name. The archive is reproducible (archive/tar-writer.ts): same layout, same bytes.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InputError } from "../../errors.ts";
import { fileChunks, writeTar } from "../archive/tar-writer.ts";
import type { TarWriter } from "../archive/tar-writer.ts";
import { MEDIA_TYPES, REF_NAME } from "./descriptors.ts";
import type { Descriptor, ImageIndex } from "./descriptors.ts";
import { DigestCounter, checkDigest, digestHex, sha256Digest } from "./digest.ts";

export const OCI_LAYOUT_FILE = "oci-layout";
const OCI_LAYOUT_CONTENT = `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`;
const HEX_NAME = /^[a-f0-9]{64}$/;

/** The bytes of a JSON document as condaops writes them (compact; key order as built). */
export const jsonBytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export class ImageLayout {
  private constructor(readonly dir: string) {}

  /** Starts a layout in `dir` (created; it should be a fresh folder under the build's scratch folder). */
  static async create(dir: string): Promise<ImageLayout> {
    await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    await writeFile(join(dir, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
    return new ImageLayout(dir);
  }

  /** A layout written earlier (to read its blobs). */
  static open(dir: string): ImageLayout {
    return new ImageLayout(dir);
  }

  blobPath(digest: string): string {
    return join(this.dir, "blobs", "sha256", digestHex(checkDigest(digest, "blob")));
  }

  /** A temporary name in the blob folder (same filesystem: renamed into place when complete). */
  tempPath(): string {
    return join(this.dir, "blobs", "sha256", `.tmp-${randomBytes(6).toString("hex")}`);
  }

  async putBytes(data: Buffer, mediaType: string): Promise<Descriptor> {
    const digest = sha256Digest(data);
    await writeFile(this.blobPath(digest), data);
    return { mediaType, digest, size: data.length };
  }

  putJson(value: unknown, mediaType: string): Promise<Descriptor> {
    return this.putBytes(jsonBytes(value), mediaType);
  }

  /**
   * Streams `source` into a blob. With `expected`, content that is longer or shorter than its size,
   * or does not hash to its digest, is refused (InputError naming `what`) and nothing is kept.
   */
  async putStream(source: Readable, mediaType: string, expected?: { digest: string; size: number }, what = "blob"): Promise<Descriptor> {
    const tmp = this.tempPath();
    const counter = new DigestCounter(expected?.size, what);
    try {
      await pipeline(source, counter, createWriteStream(tmp, { flags: "wx" }));
      const digest = counter.digest();
      if (expected && (counter.bytes !== expected.size || digest !== expected.digest)) {
        throw new InputError("oci.blob-digest", `${what}: its content (${counter.bytes} bytes, ${digest}) does not match its descriptor (${expected.size} bytes, ${expected.digest})`, {
          hint: "the image is corrupt or was tampered with; it was not used",
        });
      }
      await rename(tmp, this.blobPath(digest));
      return { mediaType, digest, size: counter.bytes };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Writes `index.json` listing the images of the layout. */
  async writeIndex(manifests: Descriptor[]): Promise<void> {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests };
    await writeFile(join(this.dir, "index.json"), jsonBytes(index));
  }
}

/** A manifest's descriptor for index.json, tagged `tag` (what `umoci --image dir:tag` and `skopeo oci:dir:tag` select). */
export function taggedManifest(manifest: Descriptor, tag: string): Descriptor {
  return { ...manifest, annotations: { ...(manifest.annotations ?? {}), [REF_NAME]: tag } };
}

/**
 * Writes the layout at `layoutDir` as a tar archive at `file` (through a temporary name: the file
 * exists only complete): `oci-layout`, `index.json` and the `blobs/sha256/` files, sorted by path.
 */
export async function writeLayoutArchive(layoutDir: string, file: string): Promise<{ size: number }> {
  const blobDir = join(layoutDir, "blobs", "sha256");
  const blobs = (await readdir(blobDir)).filter((n) => HEX_NAME.test(n)).sort();
  const tmp = `${file}.tmp-${randomBytes(4).toString("hex")}`;
  const counter = new DigestCounter();
  const addFile = async (tar: TarWriter, name: string, path: string): Promise<void> => {
    const { size } = await stat(path);
    await tar.fileFrom({ path: name, mode: 0o644 }, size, fileChunks(path, size));
  };
  try {
    // Every entry has mtime 0, like the layers.
    await writeTar([counter, createWriteStream(tmp, { flags: "wx" })], async (tar) => {
      await tar.directory({ path: "blobs", mode: 0o755 });
      await tar.directory({ path: "blobs/sha256", mode: 0o755 });
      for (const hex of blobs) await addFile(tar, `blobs/sha256/${hex}`, join(blobDir, hex));
      await addFile(tar, "index.json", join(layoutDir, "index.json"));
      await tar.file({ path: OCI_LAYOUT_FILE, mode: 0o644 }, Buffer.from(OCI_LAYOUT_CONTENT));
    });
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return { size: counter.bytes };
}
