/**
 * The `sbom` artifact: a CycloneDX 1.5 JSON bill of materials per platform of the lock
 * (`<platform>.sbom.cdx.json`: one file name per platform, as the storage key has no platform
 * of its own). Made from the lock, so platforms that were not installed get one too.
 *
 *   metadata.component   the environment: `ns/name` at the commit, with its environment hash,
 *                        spec hash and platform as properties
 *   components           one library per package: purl, SHA-256 (and MD5), licence
 *                        (spdx.ts decides id / expression / name), the download URL
 *   dependencies         the environment on its requested packages, each package on the
 *                        packages of the lock its `depends` name (virtual packages have none)
 *
 * Reproducible: the serial number is a name-based (v5) UUID of the environment, commit,
 * platform and environment hash; the timestamp is the build's source date (source-date.ts),
 * never the time it ran; keys and lists are in a fixed order. Same input, same bytes.
 *
 * purl: the registered `conda` type has no namespace, so the channel is a qualifier, as in the
 * purl spec's own example (`pkg:conda/absl-py@0.4.1?build=...&channel=main&subdir=linux-64&type=tar.bz2`):
 * `channel` is the channel's name (its path under the channel alias, else its last path segment)
 * and `repository_url` the full channel URL, since the type's default repository
 * (repo.anaconda.com) is not where conda-forge packages are. Qualifiers sorted, values
 * percent-encoded. No URL in the SBOM carries credentials: user-info, `/t/<token>` segments,
 * queries and fragments are removed even if a lock had kept them.
 */
import { createHash } from "node:crypto";
import { channelShortName } from "../../spec/channel.ts";
import { CONDAOPS_VERSION } from "../../version.ts";
import { withoutCredentials } from "../channels/redact.ts";
import { environmentHash } from "../lock/environment-hash.ts";
import type { Lock, LockedPackage } from "../lock/types.ts";
import { missingLicenses, packageStem } from "./package-licenses.ts";
import { sourceDate } from "./source-date.ts";
import { licenseChoice } from "./spdx.ts";
import type { ArtifactInput, ArtifactMaker } from "./types.ts";

/** RFC 4122's URL namespace: the name below is URL-like. */
const URL_NAMESPACE = "6ba7b811-9dad-11d1-80b4-00c04fd430c8";

/** A name-based UUID (RFC 4122 version 5, SHA-1). */
export function uuidV5(name: string, namespace = URL_NAMESPACE): string {
  const h = createHash("sha1").update(Buffer.from(namespace.replace(/-/g, ""), "hex")).update(name, "utf8").digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const enc = (s: string): string => encodeURIComponent(s).replace(/%3A/gi, ":");

/** The channel's name for the purl: its path under the alias, else its last path segment (or host). */
function channelName(channel: string, alias: string | undefined): string {
  if (alias) {
    const short = channelShortName(channel, withoutCredentials(alias).replace(/\/+$/, ""));
    if (short !== channel) return short;
  }
  try {
    const u = new URL(channel);
    const segments = u.pathname.split("/").filter(Boolean);
    return segments[segments.length - 1] ?? u.host;
  } catch {
    return channel.split("/").filter(Boolean).pop() ?? channel;
  }
}

/** `pkg:conda/<name>@<version>?build=..&channel=..&repository_url=..&subdir=..&type=conda|tar.bz2` (pip: `pkg:pypi/...`). */
export function packagePurl(p: LockedPackage, channelAlias?: string): string {
  if (p.manager === "pip") return `pkg:pypi/${enc(p.name.toLowerCase().replace(/[-_.]+/g, "-"))}@${enc(p.version)}`;
  const channel = withoutCredentials(p.channel).replace(/\/+$/, "");
  const qualifiers: [string, string][] = [
    ["build", p.build],
    ["channel", channelName(channel, channelAlias)],
    ["repository_url", channel],
    ["subdir", p.subdir],
    ["type", p.filename.endsWith(".tar.bz2") ? "tar.bz2" : "conda"],
  ];
  return `pkg:conda/${enc(p.name)}@${enc(p.version)}?${qualifiers.map(([k, v]) => `${k}=${enc(v)}`).join("&")}`;
}

/** The package name a match spec or a `depends` entry names (`conda-forge::numpy >=1` -> `numpy`). */
function specName(spec: string): string | undefined {
  const first = spec.trim().split(/[\s=<>!~[]/, 1)[0] ?? "";
  const sep = first.lastIndexOf("::");
  const name = sep < 0 ? first : first.slice(sep + 2);
  return name ? name.toLowerCase() : undefined;
}

const HEX64 = /^[0-9a-f]{64}$/i;
const HEX32 = /^[0-9a-f]{32}$/i;

export interface SbomOptions {
  namespace: string;
  name: string;
  commit: string;
  lock: Lock;
  platform: string;
  /** The spec's requested match specs: what the environment itself depends on. */
  requested: readonly string[];
  /** Licences of packages the lock has none for, by package stem (package-licenses.ts). */
  licenses?: ReadonlyMap<string, string>;
  /** metadata.timestamp; omitted when undefined. */
  date?: Date;
  channelAlias?: string;
  /** Where the build came from (redacted URL or path), a property of the root component. */
  repository?: string;
}

/** The CycloneDX 1.5 document for one platform, keys in a fixed order. */
export function cycloneDxSbom(o: SbomOptions): Record<string, unknown> {
  const packages = o.lock.packages.filter((p) => p.platform === o.platform);
  const envHash = environmentHash(o.lock, o.platform);
  const rootRef = `condaops:${o.namespace}/${o.name}@${o.commit}#${o.platform}`;
  const refs = new Map(packages.map((p) => [p.name.toLowerCase(), packagePurl(p, o.channelAlias)]));
  const specHash = o.lock.contentHash[o.platform] ?? o.lock.metadata["condaops.spec-hash"];
  const rootProperties = [
    { name: "condaops:environment-hash", value: envHash },
    ...(specHash ? [{ name: "condaops:spec-hash", value: specHash }] : []),
    { name: "condaops:platform", value: o.platform },
    ...(o.repository ? [{ name: "condaops:repository", value: withoutCredentials(o.repository) }] : []),
  ];
  const components = packages.map((p) => {
    const purl = refs.get(p.name.toLowerCase()) as string;
    const hashes = [...(HEX64.test(p.sha256) ? [{ alg: "SHA-256", content: p.sha256.toLowerCase() }] : []), ...(HEX32.test(p.md5) ? [{ alg: "MD5", content: p.md5.toLowerCase() }] : [])];
    const license = licenseChoice(p.license ?? o.licenses?.get(packageStem(p)));
    const properties = [
      { name: "condaops:channel", value: withoutCredentials(p.channel).replace(/\/+$/, "") },
      { name: "condaops:subdir", value: p.subdir },
      { name: "condaops:build", value: p.build },
      ...(p.noarch ? [{ name: "condaops:noarch", value: p.noarch }] : []),
    ];
    return {
      type: "library",
      "bom-ref": purl,
      name: p.name,
      version: p.version,
      scope: "required",
      ...(hashes.length ? { hashes } : {}),
      ...(license ? { licenses: [license] } : {}),
      purl,
      externalReferences: [{ type: "distribution", url: withoutCredentials(p.url), ...(hashes.length ? { hashes: hashes.slice(0, 1) } : {}) }],
      properties,
    };
  });
  const dependsOn = (specs: readonly string[], self?: string): string[] => {
    const out = new Set<string>();
    for (const s of specs) {
      const name = specName(s);
      const ref = name === undefined ? undefined : refs.get(name);
      if (ref !== undefined && ref !== self) out.add(ref);
    }
    return [...out].sort();
  };
  return {
    $schema: "http://cyclonedx.org/schema/bom-1.5.schema.json",
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${uuidV5(`condaops:sbom:${o.namespace}/${o.name}@${o.commit}/${o.platform}/${envHash}`)}`,
    version: 1,
    metadata: {
      ...(o.date ? { timestamp: o.date.toISOString().replace(/\.\d{3}Z$/, "Z") } : {}),
      tools: { components: [{ type: "application", name: "condaops", version: CONDAOPS_VERSION }] },
      component: { type: "application", "bom-ref": rootRef, name: `${o.namespace}/${o.name}`, version: o.commit, properties: rootProperties },
    },
    components,
    dependencies: [
      { ref: rootRef, dependsOn: dependsOn(o.requested) },
      ...packages.map((p) => {
        const ref = refs.get(p.name.toLowerCase()) as string;
        return { ref, dependsOn: dependsOn(p.depends, ref) };
      }),
    ],
  };
}

export const sbomArtifact: ArtifactMaker = {
  kind: "sbom",
  needsPrefix: false,
  async make(input: ArtifactInput) {
    const licenses = await missingLicenses(input.lock.packages, {
      ...(input.installed ? { installed: { prefix: input.installed.prefix, platform: input.installed.platform } } : {}),
      cacheDir: input.cacheDir,
    });
    const date = sourceDate(input);
    return input.lock.platforms.map((platform) => {
      const unknown = input.lock.packages.filter((p) => p.platform === platform && !licenseChoice(p.license ?? licenses.get(packageStem(p)))).map((p) => p.name);
      if (unknown.length) input.log(`sbom: ${platform}: no licence known for ${unknown.join(", ")}`);
      const bom = cycloneDxSbom({
        namespace: input.namespace,
        name: input.name,
        commit: input.commit,
        lock: input.lock,
        platform,
        requested: input.effective.dependencies,
        licenses,
        ...(date ? { date } : {}),
        channelAlias: input.effective.channelAlias,
        repository: input.repository,
      });
      return { kind: "sbom" as const, file: `${platform}.sbom.cdx.json`, platform, body: `${JSON.stringify(bom, null, 2)}\n` };
    });
  },
};
