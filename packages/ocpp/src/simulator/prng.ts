import { seededRandom as mulberry32 } from '@gridseam/model';

/** A small seeded PRNG (mulberry32) so simulated EV arrivals repeat for the same seed. */
export type Random = () => number;

export function seededRandom(seed: number): Random {
  return mulberry32(seed);
}

/** An exponentially distributed wait with the given mean (Poisson arrivals). */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/** Uniform in [low, high). */
export function between(random: Random, low: number, high: number): number {
  return low + random() * (high - low);
}
