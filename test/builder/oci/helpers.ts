// Fixtures for the OCI tests: an installed-looking prefix made by hand (placeholders already
// replaced by its path, conda-meta describing them), a small base image written as an OCI layout
// with plain fs calls (independent of the code under test), and a reader of gzipped tar layers.
import { createHash } from "node:crypto";
import { mkdir, readFile, symlink, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync, gzipSync } from "node:zlib";
import { extract, pack } from "tar-stream";
import type { Header } from "tar-stream";

const sha = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

/** The length of conda-build's binary placeholder: what a binary's embedded prefix is padded to. */
export const PLACEHOLDER_LENGTH = 255;

/** Writes an environment as the installer would have left it at `prefix`. */
export async function makePrefix(prefix: string): Promise<void> {
  await mkdir(join(prefix, "bin"), { recursive: true });
  await mkdir(join(prefix, "lib"), { recursive: true });
  await mkdir(join(prefix, "share", "doc"), { recursive: true });
  await mkdir(join(prefix, "conda-meta"), { recursive: true });
  await writeFile(join(prefix, "bin", "hello"), `#!/bin/sh\necho "${prefix}"\n`, { mode: 0o755 });
  // A C string holding the prefix, padded with NULs to the placeholder's length, between other bytes.
  const cstr = Buffer.alloc(PLACEHOLDER_LENGTH);
  cstr.write(`${prefix}/share/data`);
  const binary = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]), cstr, Buffer.from([0, 9, 9, 9])]);
  await writeFile(join(prefix, "lib", "libdemo.so.1.0"), binary, { mode: 0o755 });
  await symlink("libdemo.so.1.0", join(prefix, "lib", "libdemo.so"));
  await symlink(`${prefix}/bin/hello`, join(prefix, "bin", "hello-abs"));
  await writeFile(join(prefix, "share", "doc", "README"), "no prefix here\n");
  await chmod(join(prefix, "share", "doc", "README"), 0o640);
  // An entry point the installer wrote: conda-meta records its hash and size, which name the prefix.
  const tool = `#!${prefix}/bin/python\nimport tool\n`;
  await writeFile(join(prefix, "bin", "tool"), tool, { mode: 0o755 });
  const record = {
    build: "0",
    extracted_package_dir: "/home/builder/.cache/condaops/pkgs/demo-1.0-0",
    files: ["bin/hello", "bin/hello-abs", "bin/tool", "lib/libdemo.so", "lib/libdemo.so.1.0", "share/doc/README"],
    link: { source: "/home/builder/.cache/condaops/pkgs/demo-1.0-0", type: 1 },
    name: "demo",
    package_tarball_full_path: "/home/builder/.cache/condaops/pkgs/demo-1.0-0.conda",
    paths_data: {
      paths: [
        { _path: "bin/hello", path_type: "hardlink", prefix_placeholder: "/opt/anaconda1anaconda2anaconda3", file_mode: "text", sha256: "a".repeat(64), sha256_in_prefix: "b".repeat(64) },
        { _path: "bin/hello-abs", path_type: "softlink" },
        { _path: "bin/tool", path_type: "unix_python_entry_point", sha256: sha(tool), sha256_in_prefix: sha(tool), size_in_bytes: Buffer.byteLength(tool) },
        { _path: "lib/libdemo.so", path_type: "softlink" },
        { _path: "lib/libdemo.so.1.0", path_type: "hardlink", prefix_placeholder: "/opt/conda-bld/placehold", file_mode: "binary", sha256_in_prefix: "d".repeat(64) },
        { _path: "share/doc/README", path_type: "hardlink", sha256: "e".repeat(64) },
      ],
      paths_version: 1,
    },
    version: "1.0",
  };
  await writeFile(join(prefix, "conda-meta", "demo-1.0-0.json"), `${JSON.stringify(record, null, 2)}\n`);
  await writeFile(join(prefix, "conda-meta", "history"), `==> ${new Date().toISOString().replace("T", " ").slice(0, 19)} <==\n# cmd: condaops install\n+conda-forge/linux-64::demo-1.0-0\n`);
}

export interface TarEntry {
  header: Header;
  data: Buffer;
}

/** Every entry of a tar (gzipped or not), in order. */
export async function readTar(data: Buffer): Promise<TarEntry[]> {
  const raw = data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
  const out: TarEntry[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on("data", (c: unknown) => chunks.push(c as Buffer));
      stream.on("end", () => {
        out.push({ header, data: Buffer.concat(chunks) });
        next();
      });
    });
    ex.on("finish", () => resolve());
    ex.on("error", reject);
  });
  Readable.from([raw]).pipe(ex as unknown as NodeJS.WritableStream);
  await done;
  return out;
}

/** A gzipped tar of `files` (path -> content), for base image layers. */
export async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const collected = new Promise<void>((resolve, reject) => {
    p.on("data", (c: unknown) => chunks.push(c as Buffer));
    p.on("end", () => resolve());
    p.on("error", reject);
  });
  for (const [name, content] of Object.entries(files)) p.entry({ name, mode: 0o644, mtime: new Date(0) }, content);
  p.finalize();
  await collected;
  return gzipSync(Buffer.concat(chunks));
}

export interface BaseLayout {
  dir: string;
  tag: string;
  manifestDigest: string;
  layerDigest: string;
  configDigest: string;
  diffId: string;
}

/** Writes an OCI layout holding one small linux image tagged `tag`, with PATH=/custom/bin:/usr/bin and a label. */
export async function makeBaseLayout(dir: string, opts: { tag?: string; architecture?: string } = {}): Promise<BaseLayout> {
  const tag = opts.tag ?? "base";
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const blob = async (b: Buffer | string): Promise<{ digest: string; size: number }> => {
    const data = Buffer.from(b);
    await writeFile(join(dir, "blobs", "sha256", sha(data)), data);
    return { digest: `sha256:${sha(data)}`, size: data.length };
  };
  const layer = await tarGz({ "etc/os-release": "ID=condaops-test\n", "usr/bin/base-tool": "#!/bin/sh\necho base\n" });
  const diffId = `sha256:${sha(gunzipSync(layer))}`;
  const l = await blob(layer);
  const config = {
    architecture: opts.architecture ?? "amd64",
    os: "linux",
    created: "2024-01-01T00:00:00Z",
    config: { Env: ["PATH=/custom/bin:/usr/bin", "LANG=C.UTF-8"], Labels: { "base.label": "kept" }, Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: [diffId] },
    history: [{ created: "2024-01-01T00:00:00Z", created_by: "test base" }],
  };
  const c = await blob(JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...c },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l }],
  };
  const m = await blob(JSON.stringify(manifest));
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": tag } }] }),
  );
  return { dir, tag, manifestDigest: m.digest, layerDigest: l.digest, configDigest: c.digest, diffId };
}

export async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, "utf8")) as T;
}
