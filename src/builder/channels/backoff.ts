/** Waiting between attempts at a channel: exponential from 250 ms, capped at 5 s, with jitter so racing processes spread out. */
export function backoffMs(attempt: number): number {
  return Math.min(250 * 2 ** (attempt - 1), 5_000) * (0.75 + Math.random() / 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
