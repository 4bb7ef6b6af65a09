/**
 * `condaops artifacts NS/NAME[@REF] [--expires SECONDS]`: a build's artifacts with their sizes,
 * sha256 and download URLs (presigned on S3, so a user without storage credentials can fetch
 * them). REF is a commit, an environment hash or `current` (the default).
 */
import { loadConfig } from "../../config/index.ts";
import { InputError, UsageError } from "../../errors.ts";
import { openBuildServices } from "../../builder/build/open-services.ts";
import { requireStateOwner, stateRepository } from "../../builder/build/state-owner.ts";
import { formatBytes } from "../../byte-size.ts";
import { parseBuildRef } from "../../spec/build-ref.ts";
import type { CommandModule } from "../command.ts";

const MAX_EXPIRY = 7 * 24 * 3600; // S3's limit for presigned URLs

export const artifactsCommand: CommandModule = {
  name: "artifacts",
  define: (cmd) =>
    cmd
      .description("list a build's artifacts: kind, size, sha256 and a download URL")
      .argument("<ns/name[@ref]>", "environment, optionally @commit, @environment-hash or @current (default)")
      .option("--expires <seconds>", "lifetime of presigned download URLs (S3), at most 604800", "86400")
      .option("--state <dir>", "state folder (default .condaops, or state: in the configuration)"),
  run: async (cmd, globals, out) => {
    const [text] = cmd.args as [string];
    const o = cmd.opts<{ expires: string; state?: string }>();
    const parsed = parseBuildRef(text);
    if (!parsed.ok) throw new UsageError("artifacts.ref", parsed.reason, { hint: "e.g. condaops artifacts data-science/analytics@3f2a9c1" });
    const expires = Number(o.expires);
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRY) throw new UsageError("artifacts.expires", `--expires must be a whole number of seconds from 1 to ${MAX_EXPIRY}`);
    const { namespace, name, ref } = parsed.value;
    const config = await loadConfig({ ...(globals.config ? { file: globals.config } : {}), ...(o.state ? { state: o.state } : {}), warn: (m) => out.error(m) });
    await requireStateOwner(config.state);
    const services = await openBuildServices(config, { log: (l) => out.progress(l) });
    try {
      const { repositoryId } = await stateRepository(config.state, services.store);
      const build = await services.store.resolveBuild(repositoryId, namespace, name, ref);
      if (!build) throw new InputError("artifacts.no-build", `no build of ${namespace}/${name} at ${ref}`, { hint: "condaops build builds it; a commit resolves to the latest earlier commit that changed the environment" });
      const rows = await services.store.listArtifacts(build.id);
      const artifacts = await Promise.all(rows.map(async (a) => ({ ...a, url: await services.blobs.downloadUrl(a.key, expires) })));
      out.result({
        namespace,
        name,
        commit: build.commit,
        build: { id: build.id, attempt: build.attempt, state: build.state, environmentHash: build.environmentHash, prunedAt: build.prunedAt },
        storage: services.blobs.location,
        artifacts: artifacts.map(({ buildId: _b, ...a }) => a),
      });
      out.info(`${namespace}/${name}@${build.commit.slice(0, 12)}  build ${build.id} (attempt ${build.attempt}, ${build.state}${build.prunedAt ? `, pruned by retention on ${build.prunedAt.slice(0, 10)}` : ""})`);
      const width = Math.max(4, ...artifacts.map((a) => `${a.kind}${a.platform ? ` ${a.platform}` : ""}`.length));
      for (const a of artifacts) {
        out.info(`  ${`${a.kind}${a.platform ? ` ${a.platform}` : ""}`.padEnd(width)}  ${formatBytes(a.size).padStart(9)}  ${a.sha256.slice(0, 16)}  ${a.url}`);
      }
      if (artifacts.length === 0) out.info("  (no artifacts recorded)");
      return 0;
    } finally {
      await services.close();
    }
  },
};
