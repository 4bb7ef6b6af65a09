/**
 * Wires the real parts a build needs from the configuration: the database (PostgreSQL at
 * `database.url`, else PGlite under `<state>/db`), object storage (a local folder by default),
 * the store layout, the repodata gateway and the package cache. The CLI, the service and the
 * Action all open their builder through this one function.
 */
import { createLocalStorage } from "../../blobs/local-folder.ts";
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
  const store = await openStore({ ...(config.database.url ? { url: config.database.url } : {}), dir: layout.dbDir });
  return {
    store,
    blobs: config.storage.kind === "local" ? createLocalStorage(config.storage.path) : createLocalStorage(config.storage.bucket),
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
