/**
 * Rainflow cycle counting of a realised SoC trace (ASTM E1049-85 (2017) §5.4.4, the three-point
 * method with the starting point S, residue counted as half cycles) and the life it consumed:
 * sum of count x Phi(depth) (../shared/docs/notes/bess_market.md §1.2(c)). Pure functions.
 */
import { GridseamError } from '@gridseam/model';
import type { StressFunction } from './contract.ts';

/** One counted range: a full cycle (count 1) or a half cycle (0.5), between two turning points. */
export interface RainflowCycle {
  /** The range |series[to] - series[from]| (in the series' own unit; SoC fraction for a SoC trace). */
  depth: number;
  count: 0.5 | 1;
  /** Indices into the input series of the range's first and second turning point. */
  from: number;
  to: number;
}

/**
 * The default stress function Phi(depth) = depth^2 / 6000: a full-depth cycle uses 1/6000 of life
 * (the benchmark model in bess_market.md §1.2(b)). Depth is a fraction of usable energy.
 */
export const DEFAULT_STRESS: Readonly<StressFunction> = { k: 1 / 6000, b: 2 };

function invalid(message: string, path: string): GridseamError {
  return new GridseamError('GW_ERR_VALIDATION', message, { issues: [{ path, message }] });
}

function assertFiniteSeries(series: readonly number[]): void {
  if (!Array.isArray(series)) throw invalid('rainflow: the series must be an array of numbers', '');
  for (let i = 0; i < series.length; i++) {
    const value = series[i];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw invalid(`rainflow: series[${i}] is ${String(value)}, not a finite number`, `/${i}`);
  }
}

/**
 * Indices of the series' turning points (ASTM E1049 §3.2.x peaks and valleys): the first and last
 * points and every point where the direction changes. A plateau counts once, at its first index.
 */
export function turningPoints(series: readonly number[]): number[] {
  assertFiniteSeries(series);
  const points: number[] = [];
  let direction = 0;
  for (let i = 0; i < series.length; i++) {
    const value = series[i] as number;
    if (points.length === 0) {
      points.push(i);
      continue;
    }
    const last = series[points[points.length - 1] as number] as number;
    if (value === last) continue;
    const step = Math.sign(value - last);
    if (points.length === 1 || step === direction) {
      // Still rising (or falling): the extreme moves on; the very first point stays as the start.
      if (points.length > 1) points[points.length - 1] = i;
      else points.push(i);
    } else points.push(i);
    direction = step;
  }
  return points;
}

/**
 * Rainflow counting, ASTM E1049-85 §5.4.4: X is the range of the newest two turning points, Y the
 * range before it. While X >= Y: if Y holds the starting point S it is a half cycle and S moves on
 * (step 6), else Y is a full cycle and its two points are discarded (step 5). What is left at the
 * end is counted as half cycles (step 7). Cycles are returned in the order they are counted.
 */
export function rainflow(series: readonly number[]): RainflowCycle[] {
  const points = turningPoints(series);
  const value = (index: number) => series[index] as number;
  const range = (a: number, b: number) => Math.abs(value(b) - value(a));
  const cycles: RainflowCycle[] = [];
  const stack: number[] = [];
  let startIndex = 0; // position of S in `stack`
  for (const point of points) {
    stack.push(point);
    while (stack.length - startIndex >= 3) {
      const n = stack.length;
      const [yFrom, yTo, xTo] = [stack[n - 3] as number, stack[n - 2] as number, stack[n - 1] as number];
      const x = range(yTo, xTo);
      const y = range(yFrom, yTo);
      if (x < y) break;
      if (n - 3 === startIndex) {
        cycles.push({ depth: y, count: 0.5, from: yFrom, to: yTo });
        startIndex++;
      } else {
        cycles.push({ depth: y, count: 1, from: yFrom, to: yTo });
        stack.splice(n - 3, 2);
      }
    }
  }
  for (let i = startIndex; i + 1 < stack.length; i++) {
    const from = stack[i] as number;
    const to = stack[i + 1] as number;
    cycles.push({ depth: range(from, to), count: 0.5, from, to });
  }
  return cycles;
}

/** Checks a stress function: k >= 0 and b >= 1 (convex, as the cycle-depth cost needs), both finite. */
export function assertStressFunction(stress: StressFunction): void {
  if (typeof stress?.k !== 'number' || !Number.isFinite(stress.k) || stress.k < 0)
    throw invalid(`stress k must be a finite number >= 0 (got ${String(stress?.k)})`, '/k');
  if (typeof stress.b !== 'number' || !Number.isFinite(stress.b) || stress.b < 1)
    throw invalid(`stress b must be a finite number >= 1 (got ${String(stress.b)})`, '/b');
}

/** Phi(depth) = k * depth^b. */
export function stress(depth: number, phi: StressFunction): number {
  return phi.k * depth ** phi.b;
}

/** Life consumed = sum over cycles of count x Phi(depth) (a fraction of life: 1 is end of life). */
export function lifeConsumed(cycles: readonly RainflowCycle[], phi: StressFunction = DEFAULT_STRESS): number {
  assertStressFunction(phi);
  let total = 0;
  for (const [i, cycle] of cycles.entries()) {
    if (!Number.isFinite(cycle.depth) || cycle.depth < 0)
      throw invalid(`cycle ${i}: depth must be a finite number >= 0`, `/${i}/depth`);
    if (cycle.count !== 0.5 && cycle.count !== 1) throw invalid(`cycle ${i}: count must be 0.5 or 1`, `/${i}/count`);
    total += cycle.count * stress(cycle.depth, phi);
  }
  return total;
}
