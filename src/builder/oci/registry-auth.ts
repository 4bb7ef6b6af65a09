/**
 * Registry authentication as Docker clients do it (distribution's token spec): a request answered
 * 401 carries `WWW-Authenticate`; `Basic` means send the credentials with each request, `Bearer
 * realm=...,service=...,scope=...` means ask the realm for a token (with the credentials, when
 * there are some, as Basic auth) and send that. Tokens are kept per scope for the client's life.
 * Credentials never appear in messages, and are never sent over plain HTTP to a host that is not
 * listed as an insecure registry.
 */
import { InfraError } from "../../errors.ts";
import { redactText } from "../channels/redact.ts";

export interface Challenge {
  /** Lowercased: `basic`, `bearer`. */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 7235): one or more `scheme param=value, ...` challenges,
 * values plain tokens or quoted strings with backslash escapes.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (): void => {
    while (i < n && (header[i] === " " || header[i] === "\t" || header[i] === ",")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && !/[\s,=]/.test(header[i] as string)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skip();
    const word = token();
    if (word === "") {
      i++;
      continue;
    }
    let j = i;
    while (j < n && (header[j] === " " || header[j] === "\t")) j++;
    if (header[j] !== "=") {
      // a scheme starts a new challenge
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      continue;
    }
    i = j + 1;
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
    let value = "";
    if (header[i] === '"') {
      i++;
      while (i < n && header[i] !== '"') {
        if (header[i] === "\\" && i + 1 < n) i++;
        value += header[i];
        i++;
      }
      i++;
    } else {
      value = token();
    }
    if (current) current.params[word.toLowerCase()] = value;
  }
  return out;
}

export interface Credential {
  username?: string;
  password?: string;
}

export interface AuthOptions {
  /** `host[:port]` of the registry (for messages). */
  registry: string;
  credential?: Credential;
  /** Whether credentials may go over plain HTTP to this URL's host (an insecure registry, or the insecure registry's own machine). */
  plainHttpAllowed(url: URL): boolean;
  fetch: typeof fetch;
  signal?: AbortSignal;
}

const basic = (c: Credential): string => `Basic ${Buffer.from(`${c.username ?? ""}:${c.password ?? ""}`).toString("base64")}`;

export class RegistryAuth {
  private readonly headers = new Map<string, string>();

  constructor(private readonly o: AuthOptions) {}

  /** Secrets to mask in any text shown to users. */
  get secrets(): string[] {
    const c = this.o.credential;
    return [c?.password, ...this.headers.values()].filter((s): s is string => typeof s === "string" && s.length > 0);
  }

  /** The Authorization header to send for `scope`, if one was obtained. */
  header(scope: string): string | undefined {
    return this.headers.get(scope) ?? this.headers.get("*");
  }

  private fail(message: string, cause?: unknown): InfraError {
    return new InfraError("oci.registry-auth", redactText(message, this.secrets), {
      hint: `check oci.credentials for ${this.o.registry} (username and password or token) and that they may pull (and, to push, push to) the repository`,
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  /**
   * Handles a 401 to a request that carried `sent` (or no Authorization): obtains what its
   * challenge asks for. Returns false when there is nothing more to try (no usable challenge,
   * Basic auth without credentials or with credentials just refused).
   */
  async onUnauthorized(challengeHeader: string | null, scope: string, sent: string | undefined): Promise<boolean> {
    // A request running alongside obtained what was missing while this one was refused.
    const current = this.header(scope);
    if (current !== undefined && current !== sent) return true;
    const challenges = parseChallenges(challengeHeader ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
    const cred = this.o.credential;
    if (bearer) {
      this.headers.set(scope, `Bearer ${await this.token(bearer.params, scope)}`);
      return true;
    }
    if (challenges.some((c) => c.scheme === "basic") && cred && (cred.username !== undefined || cred.password !== undefined)) {
      const header = basic(cred);
      if (sent === header) return false; // sent and refused
      this.headers.set("*", header);
      return true;
    }
    return false;
  }

  private async token(params: Record<string, string>, scope: string): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm as string);
    } catch {
      throw this.fail(`${this.o.registry} asked for a token from an invalid realm ${JSON.stringify(params.realm)}`);
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") throw this.fail(`${this.o.registry}'s token realm ${realm.origin} is not an http(s) URL`);
    const cred = this.o.credential;
    const withCredentials = cred !== undefined && (cred.username !== undefined || cred.password !== undefined);
    if (realm.protocol === "http:" && withCredentials && !this.o.plainHttpAllowed(realm)) {
      throw this.fail(`${this.o.registry}'s token realm ${realm.origin} is plain HTTP: credentials are not sent there`);
    }
    if (params.service) realm.searchParams.set("service", params.service);
    // Our scope (what this request needs); the registry's own scope when it names another.
    const scopes = new Set([scope, ...(params.scope ? params.scope.split(" ") : [])].filter((s) => s !== "" && s !== "*"));
    for (const s of scopes) realm.searchParams.append("scope", s);
    let res: Response;
    try {
      res = await this.o.fetch(realm, { headers: withCredentials ? { authorization: basic(cred) } : {}, ...(this.o.signal ? { signal: this.o.signal } : {}) });
    } catch (e) {
      throw new InfraError("oci.registry-unreachable", `cannot reach the token service ${realm.origin} of ${this.o.registry}: ${(e as Error).message}`, { cause: e, hint: "check the network and the registry's address" });
    }
    if (res.status === 401 || res.status === 403) throw this.fail(`the token service ${realm.origin} of ${this.o.registry} refused ${withCredentials ? "the credentials" : "anonymous access"} (HTTP ${res.status})`);
    if (!res.ok) throw new InfraError("oci.registry-auth", `the token service ${realm.origin} of ${this.o.registry} answered HTTP ${res.status}`, { hint: "try again later" });
    let body: unknown;
    try {
      body = await res.json();
    } catch (e) {
      throw this.fail(`the token service ${realm.origin} of ${this.o.registry} answered something that is not JSON`, e);
    }
    const o = (typeof body === "object" && body !== null ? body : {}) as { token?: unknown; access_token?: unknown };
    const token = typeof o.token === "string" && o.token !== "" ? o.token : typeof o.access_token === "string" ? o.access_token : "";
    if (token === "") throw this.fail(`the token service ${realm.origin} of ${this.o.registry} answered without a token`);
    return token;
  }
}
