/** Order statistics the benches report, one definition for all of them. */

/** The value at quantile `q` (0..1) of `xs`, nearest rank from below: p99 of 100 is the largest. */
export const quantile = (xs: readonly number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))] as number;

/** The middle value, or the mean of the two middle values of an even count (2 rounds: their mean, not the larger). */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return (s.length % 2 === 1 ? s[m] : ((s[m - 1] as number) + (s[m] as number)) / 2) as number;
};
