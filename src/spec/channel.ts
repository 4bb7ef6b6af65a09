/**
 * Channel names and URLs. A bare name (`conda-forge`, `bioconda/label/dev`) lives under the
 * channel alias; two spellings of one channel (`conda-forge`,
 * `https://conda.anaconda.org/conda-forge/`) must compare equal, as conda-store's
 * `normalize_channel_name` makes them, so every comparison goes through `channelUrl`.
 */
export const DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org";

export function isChannelUrl(channel: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(channel);
}

/** The channel as a full URL without a trailing slash. */
export function channelUrl(channel: string, alias: string): string {
  if (isChannelUrl(channel)) return channel.replace(/\/+$/, "");
  return `${alias.replace(/\/+$/, "")}/${channel.replace(/^\/+|\/+$/g, "")}`;
}

/** The shortest spelling of a channel URL: its bare name when it lives under the alias. */
export function channelShortName(url: string, alias: string): string {
  const base = `${alias.replace(/\/+$/, "")}/`;
  return url.startsWith(base) ? url.slice(base.length) : url;
}
