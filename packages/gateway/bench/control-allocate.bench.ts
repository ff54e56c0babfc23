/**
 * Control allocation benchmark: `tsx packages/gateway/bench/control-allocate.bench.ts [--devices N]
 * [--runs R] [--seed S]`.
 *
 * Allocates ONE aggregate fixed-W target over a fleet of N devices (default 100,000): batteries,
 * PV inverters, hybrid inverters and controllable loads with random ratings, SoC and telemetry,
 * about 3 % offline. Reports the median of R runs (default 15, after 3 warm-up runs) of:
 * - allocateAggregate: the whole public call (validation, typed-array preparation, the tiered
 *   proportional split, and the per-device result objects with their setpoints);
 * - the core alone: prepareFleet + solveFleet over the typed arrays, no result objects.
 * Target: allocateAggregate under 200 ms. Prints PASS/FAIL; exit code 1 on a FAIL.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { seededRandom } from '@gridseam/model';
import {
  type AggregateTarget,
  type AllocatableDevice,
  allocateAggregate,
  prepareFleet,
  solveFleet,
} from '../src/control/index.ts';

const TARGET_MS = 200;
const WARM_UP_RUNS = 3;

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '15' },
    seed: { type: 'string', default: '42' },
  },
});
const deviceCount = Number(args.devices);
const runs = Number(args.runs);
const seed = Number(args.seed);
if (!(Number.isInteger(deviceCount) && deviceCount > 0 && Number.isInteger(runs) && runs > 0)) {
  console.error('usage: control-allocate.bench.ts [--devices N] [--runs R] [--seed S]');
  process.exit(2);
}

function buildFleet(count: number): AllocatableDevice[] {
  const random = seededRandom(seed);
  const range = (low: number, high: number) => low + (high - low) * random();
  const fleet: AllocatableDevice[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const online = random() > 0.03;
    const kind = random();
    const id = `dev-${i}`;
    if (kind < 0.5) {
      fleet[i] = {
        id,
        class: 'battery',
        online,
        controls: ['fixedW', 'chargeLimit', 'dischargeLimit'],
        maxW: 5000,
        maxChargeW: range(2000, 5000),
        maxDischargeW: range(2000, 5000),
        capacityWh: range(5000, 15_000),
        socMinPct: 10,
        socMaxPct: 95,
        socPct: range(5, 100),
        powerW: range(-2000, 2000),
      };
    } else if (kind < 0.8) {
      const available = range(0, 8000);
      fleet[i] = {
        id,
        class: 'pv-inverter',
        online,
        controls: ['generationLimit'],
        maxW: 8000,
        availablePvW: available,
        powerW: available,
      };
    } else if (kind < 0.9) {
      const available = range(0, 6000);
      fleet[i] = {
        id,
        class: 'hybrid-inverter',
        online,
        controls: ['fixedW'],
        maxW: 8000,
        maxChargeW: 5000,
        maxDischargeW: 5000,
        capacityWh: 10_000,
        socPct: range(10, 90),
        availablePvW: available,
        powerW: available,
      };
    } else {
      fleet[i] = {
        id,
        class: random() < 0.5 ? 'ev-charger' : 'water-heater',
        online,
        controls: ['loadLimit', 'evChargingLimit'],
        maxLoadW: 7400,
        powerW: -range(0, 7400),
      };
    }
  }
  return fleet;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const fleet = buildFleet(deviceCount);
const periodMs = 60_000;
const now = Date.UTC(2025, 0, 1, 12, 0, 0);

// A discharge target at 60 % of the way from the fleet's baseline to its maximum, so every tier runs.
const probe = prepareFleet(fleet, periodMs + 30_000);
const probeOut = new Float64Array(probe.count);
const span = solveFleet(probe, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, probeOut);
const valueW = span.baselineW + 0.6 * (span.fleetMaxW - span.baselineW);
const target: AggregateTarget = { kind: 'fixedW', valueW, now, periodMs };

const fullTimes: number[] = [];
const coreTimes: number[] = [];
let last: ReturnType<typeof allocateAggregate> | undefined;
for (let run = 0; run < WARM_UP_RUNS + runs; run++) {
  const started = performance.now();
  last = allocateAggregate(target, fleet);
  const full = performance.now() - started;
  const coreStarted = performance.now();
  const prepared = prepareFleet(fleet, periodMs + 30_000);
  solveFleet(prepared, valueW, valueW, new Float64Array(prepared.count));
  const core = performance.now() - coreStarted;
  if (run >= WARM_UP_RUNS) {
    fullTimes.push(full);
    coreTimes.push(core);
  }
}
const summary = last!.summary;
const fullMs = median(fullTimes);
const coreMs = median(coreTimes);
const pass = fullMs < TARGET_MS && summary.met;
console.log(`control allocation: one fixedW target over ${deviceCount.toLocaleString('en-US')} devices`);
console.log(
  `  target ${Math.round(valueW).toLocaleString('en-US')} W, met ${summary.met}, allocated ${Math.round(summary.allocatedW).toLocaleString('en-US')} W, setpoints ${summary.devices.setpoints.toLocaleString('en-US')}, offline ${summary.devices.excluded.offline.toLocaleString('en-US')}`,
);
console.log(`  allocateAggregate (full, with result objects): median ${fullMs.toFixed(1)} ms over ${runs} runs`);
console.log(`  core (prepareFleet + solveFleet, typed arrays): median ${coreMs.toFixed(1)} ms`);
console.log(`  ${pass ? 'PASS' : 'FAIL'}: target < ${TARGET_MS} ms${summary.met ? '' : ' (target not met)'}`);
if (!pass) process.exitCode = 1;
