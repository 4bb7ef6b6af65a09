/**
 * Secrets never reach logs, locks, artifacts or error messages. Every URL condaops prints or
 * stores goes through `redactUrl`; free text that may carry a secret (an HTTP error body, a
 * solver message) goes through `redactText` with the secrets in play; a URL published for
 * others to use (an SBOM's download URL) goes through `withoutCredentials`, which drops them.
 */

/** The URL without user-info and with anaconda.org-style `/t/<token>/` segments masked. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/** Masks every occurrence of the given secrets (and secret-looking URL parts) in `text`. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s?#]*@/gi, "$1").replace(/\/t\/[^/\s]+/g, "/t/***");
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("***");
  return out;
}

/** Whether a URL carries credentials: `user:password@host` user-info, or an anaconda.org `/t/<token>/` segment. */
export function hasCredentials(url: string): boolean {
  return /[a-z][a-z0-9+.-]*:\/\/[^/\s?#]*@/i.test(url) || /[a-z][a-z0-9+.-]*:\/\/[^\s]*\/t\/[^/\s]+\//i.test(url);
}

/** The URL without user-info, anaconda.org-style `/t/<token>` segments, query or fragment. */
export function withoutCredentials(url: string): string {
  const stripTokens = (path: string): string => path.replace(/\/t\/[^/]+(?=\/|$)/g, "");
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.hash = "";
    u.pathname = stripTokens(u.pathname);
    return u.toString();
  } catch {
    return stripTokens(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1").replace(/[?#].*$/s, ""));
  }
}
