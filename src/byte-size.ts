/** Byte counts as people read them in logs and reports (`1.5 GiB`) and write them in settings (`5GiB`, `500MB`). */
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"] as const;

export function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${UNITS[unit]}`;
}

const POWERS: Record<string, number> = { "": 0, k: 1, m: 2, g: 3, t: 4, p: 5 };

/**
 * A size in bytes from a whole number or a string like `5GiB`, `500MB`, `1.5 G`, `0`: KiB, MiB...
 * are powers of 1024, KB, MB... powers of 1000, a bare K, M, G, T (as `df` prints) 1024.
 * Undefined when it is none.
 */
export function parseByteSize(raw: number | string): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  const m = /^\s*(?<number>[0-9]+(?:\.[0-9]+)?)\s*(?:(?<letter>[kmgtp])(?<binary>i)?(?<b>b)?|b)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const { number = "", letter = "", binary, b } = m.groups ?? {};
  // KB, MB, GB: decimal; KiB, Ki and a bare K: binary.
  const decimal = letter !== "" && binary === undefined && b !== undefined;
  const bytes = Math.round(Number(number) * (decimal ? 1000 : 1024) ** (POWERS[letter.toLowerCase()] ?? 0));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
