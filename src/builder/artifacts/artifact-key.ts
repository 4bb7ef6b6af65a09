/**
 * Where a build's artifacts live in storage: `builds/<ns>/<name>/<commit>/<kind>/<file>`,
 * deterministic so anyone can find them from `ns/name@commit`. A second attempt at the same
 * commit (`--force`, a retry after a crash) gets `<commit>-attempt<n>`, so no attempt ever
 * overwrites another's published files.
 */
export function buildKeyPrefix(namespace: string, name: string, commit: string, attempt: number): string {
  return `builds/${namespace}/${name}/${attempt > 1 ? `${commit}-attempt${attempt}` : commit}`;
}

export function artifactKey(prefix: string, kind: string, file: string): string {
  return kind === file ? `${prefix}/${file}` : `${prefix}/${kind}/${file}`;
}
