// Real registries for OCI tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with
// filesystem storage in a temporary folder, optionally behind htpasswd (Basic) auth or token
// (Bearer) auth with a token service of our own, also on 127.0.0.1, that signs JWTs the registry
// verifies against a certificate made with openssl. Plus `toolMissing` for tests that need
// skopeo, umoci or docker-registry: they skip naming the missing tool, never pass silently.
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createSign, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The first of `tools` not on PATH, as a skip message ("skopeo not installed"), or undefined when all are. */
export function toolMissing(...tools: string[]): string | undefined {
  for (const t of tools) {
    if (spawnSync("sh", ["-c", `command -v ${t}`], { stdio: "ignore" }).status !== 0) return `${t} not installed`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A bcrypt htpasswd line (python3's crypt with libxcrypt), or undefined where that is unavailable. */
export function htpasswdLine(user: string, password: string): string | undefined {
  const r = spawnSync("python3", ["-W", "ignore", "-c", "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))", password], { encoding: "utf8" });
  const hash = r.status === 0 ? r.stdout.trim() : "";
  return /^\$2[aby]\$/.test(hash) ? `${user}:${hash}` : undefined;
}

export interface TokenService {
  url: string;
  service: string;
  issuer: string;
  certFile: string;
  /** Every token request: the query and whether it carried valid credentials. */
  requests: { scope: string[]; service: string | null; user: string | null }[];
  close(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

/**
 * A token service as distribution's token auth expects: GET /token?service=..&scope=..., Basic
 * credentials checked against `users`, a JWT (RS256, x5c) granting what the scopes ask. Needs
 * openssl for the certificate; undefined without it.
 */
export async function startTokenService(dir: string, users: Record<string, string>): Promise<TokenService | undefined> {
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.crt");
  const gen = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=condaops-test-token"], { stdio: "ignore" });
  if (gen.status !== 0) return undefined;
  const key = await readFile(keyFile, "utf8");
  const der = (await readFile(certFile, "utf8")).replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const service = "condaops-test-registry";
  const issuer = "condaops-test-issuer";
  const requests: TokenService["requests"] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const auth = req.headers.authorization;
    let user: string | null = null;
    if (auth?.startsWith("Basic ")) {
      const [u, ...p] = Buffer.from(auth.slice(6), "base64").toString().split(":");
      if (u !== undefined && users[u] !== undefined && users[u] === p.join(":")) user = u;
      else {
        requests.push({ scope: url.searchParams.getAll("scope"), service: url.searchParams.get("service"), user: null });
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
    }
    const scopes = url.searchParams.getAll("scope");
    requests.push({ scope: scopes, service: url.searchParams.get("service"), user });
    const access = user
      ? scopes.map((s) => {
          const [type, ...rest] = s.split(":");
          const actions = (rest.pop() ?? "").split(",");
          return { type, name: rest.join(":"), actions };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [der] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: user ?? "", aud: service, exp: now + 600, nbf: now - 30, iat: now, jti: randomBytes(8).toString("hex"), access }));
    const signature = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key).toString("base64url");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: `${header}.${claims}.${signature}`, expires_in: 600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RegistryServer {
  /** `127.0.0.1:<port>`: the registry host for references and oci.insecure_registries. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

export type RegistryAuthConfig = { kind: "htpasswd"; line: string } | { kind: "token"; token: TokenService };

/** Starts `docker-registry` on a free port of 127.0.0.1 and waits until it answers. */
export async function startRegistry(opts: { auth?: RegistryAuthConfig } = {}): Promise<RegistryServer> {
  const dir = await mkdtemp(join(tmpdir(), "condaops-registry-"));
  const port = await freePort();
  let auth = "";
  if (opts.auth?.kind === "htpasswd") {
    await writeFile(join(dir, "htpasswd"), `${opts.auth.line}\n`);
    auth = `auth:\n  htpasswd:\n    realm: condaops-test\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (opts.auth?.kind === "token") {
    const t = opts.auth.token;
    auth = `auth:\n  token:\n    realm: ${t.url}\n    service: ${t.service}\n    issuer: ${t.issuer}\n    rootcertbundle: ${t.certFile}\n`;
  }
  const config = [
    "version: 0.1",
    "log:",
    "  level: error",
    "  accesslog:",
    "    disabled: true",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${join(dir, "data")}`,
    "  delete:",
    "    enabled: true",
    "http:",
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString("hex")}`,
    auth,
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`docker-registry did not answer on ${url}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    host: `127.0.0.1:${port}`,
    url,
    dir,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
