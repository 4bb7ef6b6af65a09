/**
 * Wires the real parts a build needs from the configuration: the database (PostgreSQL at
 * `database.url`, else PGlite under `<state>/db`), object storage (a local folder by default, an
 * S3-compatible bucket with `storage.kind: s3`, its build-log spool under `<state>/tmp/spool`),
 * the store layout, the repodata gateway and the package cache. The CLI, the service and the
 * Action all open their builder through this one function.
 */
import { join } from "node:path";
import { createLocalStorage } from "../../blobs/local-folder.ts";
import { createS3Storage } from "../../blobs/s3.ts";
import type { Config } from "../../config/index.ts";
import { openStore } from "../../store/open-store.ts";
import { createRepodataGateway } from "../channels/repodata-gateway.ts";
import { createPackageCache } from "../package/package-cache.ts";
import { hostPlatform } from "../platform.ts";
import type { Progress } from "../progress.ts";
import type { BuildServices } from "./services.ts";
import { storeLayout } from "./store-layout.ts";
import { workerId } from "./worker-id.ts";

export interface OpenServicesOptions {
  log(line: string): void;
  progress?(log: (line: string) => void): Progress;
  signal?: AbortSignal;
}

export async function openBuildServices(config: Config, options: OpenServicesOptions): Promise<BuildServices & { close(): Promise<void> }> {
  const layout = storeLayout(config.state);
  // Storage first: a bad storage setting fails before the database is opened.
  const blobs = config.storage.kind === "s3" ? createS3Storage(config.storage, { spoolDir: join(layout.tmpDir, "spool"), log: options.log }) : createLocalStorage(config.storage.path);
  const store = await openStore({ ...(config.database.url ? { url: config.database.url } : {}), dir: layout.dbDir });
  return {
    store,
    blobs,
    layout,
    gateway: createRepodataGateway({ cacheDir: config.cacheDir, credentials: config.channelCredentials, log: options.log }),
    cache: createPackageCache({ root: config.cacheDir, credentials: config.channelCredentials, log: options.log }),
    config,
    hostPlatform: hostPlatform(),
    worker: workerId(),
    log: options.log,
    ...(options.progress ? { progress: options.progress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    close: () => store.close(),
  };
}
