/**
 * A loopback-only HTTP server that hands rattler exactly the repodata condaops decided it may
 * see (filtered, pruned, with virtual packages), because rattler's JS binding fetches channels
 * itself and cannot be given records directly. Bound to 127.0.0.1 on an ephemeral port, serving
 * only the documents registered, closed after the solve.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { InfraError } from "../../errors.ts";

export interface RepodataServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Serves `body` at `path` (`/c0/linux-64/repodata.json`). */
  put(path: string, body: string | Buffer): void;
  close(): Promise<void>;
}

export async function startRepodataServer(): Promise<RepodataServer> {
  const docs = new Map<string, Buffer>();
  const server = createServer((req, res) => {
    const body = req.method === "GET" || req.method === "HEAD" ? docs.get(req.url ?? "") : undefined;
    if (!body) {
      res.writeHead(404, { "content-length": 0 }).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new InfraError("solve.server", "cannot start the loopback repodata server", { cause: e })));
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    put(path, body) {
      docs.set(path, typeof body === "string" ? Buffer.from(body) : body);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
