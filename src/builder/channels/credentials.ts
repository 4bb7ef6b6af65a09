/**
 * Channel credentials from the configuration, applied to a request: a conda token in the path
 * (`https://host/t/<token>/channel/...`, as anaconda.org expects) or as a bearer header
 * (prefix.dev, Artifactory), or HTTP basic auth. The longest matching URL prefix wins.
 */
import type { ChannelCredential } from "../../config/types.ts";

export interface AuthorizedRequest {
  url: string;
  headers: Record<string, string>;
}

export function credentialFor(url: string, credentials: readonly ChannelCredential[]): ChannelCredential | undefined {
  let best: ChannelCredential | undefined;
  for (const c of credentials) {
    const prefix = c.prefix.replace(/\/+$/, "");
    if ((url === prefix || url.startsWith(`${prefix}/`)) && (!best || prefix.length > best.prefix.length)) best = c;
  }
  return best;
}

export function authorize(url: string, credential: ChannelCredential | undefined): AuthorizedRequest {
  const headers: Record<string, string> = {};
  if (!credential) return { url, headers };
  let out = url;
  if (credential.token !== undefined) {
    if (credential.bearer) headers.authorization = `Bearer ${credential.token}`;
    else {
      const u = new URL(url);
      out = `${u.origin}/t/${encodeURIComponent(credential.token)}${u.pathname}${u.search}`;
    }
  }
  if (credential.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password ?? ""}`).toString("base64")}`;
  }
  return { url: out, headers };
}

/** The secret values of a set of credentials, for redacting text. */
export function secretsOf(credentials: readonly ChannelCredential[]): string[] {
  const all = credentials.flatMap((c) => [c.token, c.password, c.token === undefined ? undefined : encodeURIComponent(c.token)]);
  return [...new Set(all.filter((s): s is string => s !== undefined && s !== ""))];
}
