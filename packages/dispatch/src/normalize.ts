/**
 * Checks a PlanRequest field by field and turns it into the solver's view: defaults applied,
 * energies in kWh (band from soh x nameplate x [socMin, socMax], initial energy from soc0 x
 * nameplate), per-interval series as typed arrays. Bad input is GW_ERR_VALIDATION with a JSON
 * Pointer per bad field; nothing here touches the solver.
 */
import { GridseamError, type ValidationIssue } from '@gridseam/model';
import {
  CAPACITY_PRODUCTS,
  type CapacityProduct,
  type PlanRequest,
  PRODUCT_DIRECTION,
  type StressFunction,
  type TerminalCondition,
} from './contract.ts';

/** Defaults from the contract. */
export const DEFAULT_EFFICIENCY = 0.95;
export const DEFAULT_SOC_SLACK_PENALTY_USD_PER_KWH = 1000;
/** Size caps: a request beyond them is refused rather than run out of memory. */
export const MAX_INTERVALS = 106_000;
export const MAX_SEGMENTS = 100;
export const MAX_COLUMNS = 3_000_000;

export interface NormalBattery {
  index: number;
  id: string;
  nameplateKwh: number;
  chargeKw: number;
  dischargeKw: number;
  /** Energy band, kWh: soh x nameplate x [socMin, socMax]. */
  floorKwh: number;
  ceilingKwh: number;
  /** Measured energy at the start, kWh (soc0 x nameplate); may lie outside the band. */
  initialKwh: number;
  etaCharge: number;
  etaDischarge: number;
  /** Fraction of stored energy kept over one interval: 1 - selfDischargePerHour x hours. */
  retention: number;
  throughputUsdPerMwh: number;
  /** Cycle-depth segments J (1 when no cycle-depth cost: one segment spanning the band at no cost). */
  segments: number;
  /** Marginal discharge cost of each segment, $/MWh discharged (c_j, shallowest first). */
  segmentCostUsdPerMwh: Float64Array;
  calendarUsdPerMwhHour: number;
  terminal: TerminalCondition;
  /** Site limits, kW (Infinity: none); the site's other load and PV, kW per interval. */
  importLimitKw: number;
  exportLimitKw: number;
  loadKw: Float64Array;
  pvKw: Float64Array;
  /** Bounds on net discharge d - c per interval, kW (from powerWindows, clipped to the power limits); absent: none. */
  netMinKw?: Float64Array;
  netMaxKw?: Float64Array;
}

export interface NormalProduct {
  product: CapacityProduct;
  direction: 'up' | 'down';
  priceUsdPerMwH: Float64Array;
  sustainHours: number;
}

export interface NormalCommitment {
  id: string;
  fromInterval: number;
  toInterval: number;
  minNetDischargeKw: number;
  /** Indexes into `batteries`. */
  members: number[];
}

export interface NormalRequest {
  intervals: number;
  /** Interval length, hours. */
  hours: number;
  starts: number[];
  energyPriceUsdPerMwh: Float64Array;
  batteries: NormalBattery[];
  products: NormalProduct[];
  commitments: NormalCommitment[];
  sharedExportLimitKw: number;
  sharedImportLimitKw: number;
  /** 1 where no battery may charge. */
  noCharge: Uint8Array;
  socSlackPenaltyUsdPerKwh: number;
}

/** Xu et al. 2018: c_j = (R x J / eta_d) x (Phi(j/J) - Phi((j-1)/J)), $/MWh discharged. */
export function segmentCosts(
  segments: number,
  replacementUsdPerMwh: number,
  stress: StressFunction,
  etaDischarge: number,
): Float64Array {
  const phi = (depth: number) => stress.k * depth ** stress.b;
  const costs = new Float64Array(segments);
  for (let j = 1; j <= segments; j++) {
    costs[j - 1] = ((replacementUsdPerMwh * segments) / etaDischarge) * (phi(j / segments) - phi((j - 1) / segments));
  }
  return costs;
}

interface NumberRule {
  min?: number;
  max?: number;
  /** Exclusive lower bound. */
  above?: number;
  integer?: boolean;
}

/** Collects issues while reading fields; `number` returns NaN for a bad value (then an issue exists). */
class Reader {
  readonly issues: ValidationIssue[] = [];

  fail(path: string, message: string): void {
    if (this.issues.length < 50) this.issues.push({ path, message });
  }

  number(path: string, value: unknown, rule: NumberRule = {}): number {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.fail(path, 'must be a finite number');
      return Number.NaN;
    }
    if (rule.integer && !Number.isInteger(value)) this.fail(path, 'must be an integer');
    else if (rule.min !== undefined && value < rule.min) this.fail(path, `must be >= ${rule.min}`);
    else if (rule.above !== undefined && value <= rule.above) this.fail(path, `must be > ${rule.above}`);
    else if (rule.max !== undefined && value > rule.max) this.fail(path, `must be <= ${rule.max}`);
    else return value;
    return Number.NaN;
  }

  optional(path: string, value: unknown, fallback: number, rule: NumberRule = {}): number {
    return value === undefined ? fallback : this.number(path, value, rule);
  }

  series(path: string, value: unknown, length: number, rule: NumberRule = {}): Float64Array {
    const out = new Float64Array(length);
    if (!Array.isArray(value)) {
      this.fail(path, 'must be an array of numbers');
      return out;
    }
    if (value.length !== length) {
      this.fail(path, `must have one value per interval (${length}), has ${value.length}`);
      return out;
    }
    for (let i = 0; i < length; i++) {
      const before = this.issues.length;
      out[i] = this.number(`${path}/${i}`, value[i], rule);
      if (this.issues.length > before && this.issues.length >= 50) break;
    }
    return out;
  }

  record(path: string, value: unknown): Record<string, unknown> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    return value as Record<string, unknown>;
  }
}

function readTerminal(reader: Reader, path: string, value: unknown): TerminalCondition {
  if (value === undefined) return { kind: 'at-least-initial' };
  const terminal = reader.record(path, value);
  switch (terminal?.kind) {
    case 'at-least-initial':
    case 'free':
      return { kind: terminal.kind };
    case 'target':
      return { kind: 'target', energyKwh: reader.number(`${path}/energyKwh`, terminal.energyKwh, { min: 0 }) };
    case 'value':
      return { kind: 'value', usdPerMwh: reader.number(`${path}/usdPerMwh`, terminal.usdPerMwh) };
    default:
      if (terminal) reader.fail(`${path}/kind`, 'must be one of: at-least-initial, target, value, free');
      return { kind: 'free' };
  }
}

function readBattery(reader: Reader, index: number, value: unknown, intervals: number, hours: number): NormalBattery {
  const path = `/batteries/${index}`;
  const raw = reader.record(path, value) ?? {};
  const id = typeof raw.id === 'string' && raw.id.length > 0 ? raw.id : '';
  if (id === '') reader.fail(`${path}/id`, 'must be a non-empty string');
  const nameplateKwh = reader.number(`${path}/energyKwh`, raw.energyKwh, { above: 0 });
  const chargeKw = reader.number(`${path}/chargeKw`, raw.chargeKw, { min: 0 });
  const dischargeKw = reader.number(`${path}/dischargeKw`, raw.dischargeKw, { min: 0 });
  const soh = reader.optional(`${path}/soh`, raw.soh, 1, { above: 0, max: 1 });
  const socMin = reader.optional(`${path}/socMin`, raw.socMin, 0, { min: 0, max: 1 });
  const socMax = reader.optional(`${path}/socMax`, raw.socMax, 1, { min: 0, max: 1 });
  if (socMin > socMax) reader.fail(`${path}/socMin`, 'must be <= socMax');
  const soc0 = reader.number(`${path}/soc0`, raw.soc0, { min: 0, max: 1 });
  const etaCharge = reader.optional(`${path}/etaCharge`, raw.etaCharge, DEFAULT_EFFICIENCY, { above: 0, max: 1 });
  const etaDischarge = reader.optional(`${path}/etaDischarge`, raw.etaDischarge, DEFAULT_EFFICIENCY, {
    above: 0,
    max: 1,
  });
  const selfDischarge = reader.optional(`${path}/selfDischargePerHour`, raw.selfDischargePerHour, 0, { min: 0 });
  if (selfDischarge * hours >= 1)
    reader.fail(`${path}/selfDischargePerHour`, 'must lose less than all energy in one interval');

  const degradation =
    raw.degradation === undefined ? {} : (reader.record(`${path}/degradation`, raw.degradation) ?? {});
  const dpath = `${path}/degradation`;
  const throughputUsdPerMwh = reader.optional(`${dpath}/throughputUsdPerMwh`, degradation.throughputUsdPerMwh, 0, {
    min: 0,
  });
  const calendarUsdPerMwhHour = reader.optional(
    `${dpath}/calendarUsdPerMwhHour`,
    degradation.calendarUsdPerMwhHour,
    0,
    {
      min: 0,
    },
  );
  let segments = 1;
  let segmentCostUsdPerMwh: Float64Array = new Float64Array(1);
  if (degradation.cycleDepth !== undefined) {
    const cpath = `${dpath}/cycleDepth`;
    const cycle = reader.record(cpath, degradation.cycleDepth) ?? {};
    segments = reader.number(`${cpath}/segments`, cycle.segments, { min: 1, max: MAX_SEGMENTS, integer: true });
    const replacement = reader.number(`${cpath}/replacementUsdPerMwh`, cycle.replacementUsdPerMwh, { min: 0 });
    const stress = reader.record(`${cpath}/stress`, cycle.stress) ?? {};
    const k = reader.number(`${cpath}/stress/k`, stress.k, { min: 0 });
    const b = reader.number(`${cpath}/stress/b`, stress.b, { min: 1 });
    if (Number.isInteger(segments) && segments >= 1 && segments <= MAX_SEGMENTS) {
      segmentCostUsdPerMwh = segmentCosts(segments, replacement, { k, b }, etaDischarge);
    } else segments = 1;
  }

  const site = raw.site === undefined ? {} : (reader.record(`${path}/site`, raw.site) ?? {});
  const spath = `${path}/site`;
  const importLimitKw = reader.optional(`${spath}/importLimitKw`, site.importLimitKw, Number.POSITIVE_INFINITY, {
    min: 0,
  });
  const exportLimitKw = reader.optional(`${spath}/exportLimitKw`, site.exportLimitKw, Number.POSITIVE_INFINITY, {
    min: 0,
  });
  const loadKw =
    site.loadKw === undefined
      ? new Float64Array(intervals)
      : reader.series(`${spath}/loadKw`, site.loadKw, intervals, { min: 0 });
  const pvKw =
    site.pvKw === undefined
      ? new Float64Array(intervals)
      : reader.series(`${spath}/pvKw`, site.pvKw, intervals, { min: 0 });

  const usable = soh * nameplateKwh;
  const bounds = readPowerWindows(reader, `${path}/powerWindows`, raw.powerWindows, intervals, chargeKw, dischargeKw);
  return {
    ...bounds,
    index,
    id,
    nameplateKwh,
    chargeKw,
    dischargeKw,
    floorKwh: usable * socMin,
    ceilingKwh: usable * socMax,
    initialKwh: soc0 * nameplateKwh,
    etaCharge,
    etaDischarge,
    retention: 1 - selfDischarge * hours,
    throughputUsdPerMwh,
    segments,
    segmentCostUsdPerMwh,
    calendarUsdPerMwhHour,
    terminal: readTerminal(reader, `${path}/terminal`, raw.terminal),
    importLimitKw,
    exportLimitKw,
    loadKw,
    pvKw,
  };
}

/**
 * Power windows to per-interval bounds on net discharge, clipped to [-chargeKw, dischargeKw];
 * overlapping windows intersect, and an interval where they leave nothing is an error.
 */
function readPowerWindows(
  reader: Reader,
  path: string,
  value: unknown,
  intervals: number,
  chargeKw: number,
  dischargeKw: number,
): { netMinKw?: Float64Array; netMaxKw?: Float64Array } {
  if (value === undefined) return {};
  if (!Array.isArray(value)) {
    reader.fail(path, 'must be an array');
    return {};
  }
  const low = -(Number.isFinite(chargeKw) ? chargeKw : 0);
  const high = Number.isFinite(dischargeKw) ? dischargeKw : 0;
  const netMinKw = new Float64Array(intervals).fill(low);
  const netMaxKw = new Float64Array(intervals).fill(high);
  const clip = (kw: number) => Math.min(high, Math.max(low, kw));
  value.forEach((item, i) => {
    const wpath = `${path}/${i}`;
    const raw = reader.record(wpath, item) ?? {};
    const [from, to] = readWindow(reader, wpath, raw.fromInterval, raw.toInterval, intervals);
    const min = reader.optional(`${wpath}/minNetDischargeKw`, raw.minNetDischargeKw, Number.NEGATIVE_INFINITY);
    const max = reader.optional(`${wpath}/maxNetDischargeKw`, raw.maxNetDischargeKw, Number.POSITIVE_INFINITY);
    if (min > max) reader.fail(`${wpath}/minNetDischargeKw`, 'must be <= maxNetDischargeKw');
    if (!Number.isInteger(from) || !Number.isInteger(to) || Number.isNaN(min) || Number.isNaN(max) || min > max) return;
    for (let t = from; t < to; t++) {
      netMinKw[t] = Math.max(netMinKw[t] as number, clip(min));
      netMaxKw[t] = Math.min(netMaxKw[t] as number, clip(max));
      if ((netMinKw[t] as number) > (netMaxKw[t] as number) + 1e-9) {
        reader.fail(wpath, `overlaps another power window with bounds that exclude each other in interval ${t}`);
        return;
      }
    }
  });
  return { netMinKw, netMaxKw };
}

function readWindow(reader: Reader, path: string, from: unknown, to: unknown, intervals: number): [number, number] {
  const start = reader.number(`${path}/fromInterval`, from, { min: 0, max: intervals - 1, integer: true });
  const end = reader.number(`${path}/toInterval`, to, { min: 1, max: intervals, integer: true });
  if (start >= end) reader.fail(`${path}/toInterval`, 'must be > fromInterval');
  return [start, end];
}

function readTimeline(reader: Reader, request: Record<string, unknown>): { intervals: number; hours: number } {
  const minutes = reader.number('/intervalMinutes', request.intervalMinutes, { above: 0, max: 1440 });
  const starts = request.starts;
  if (!Array.isArray(starts) || starts.length === 0) {
    reader.fail('/starts', 'must be a non-empty array of epoch milliseconds');
    return { intervals: 0, hours: minutes / 60 };
  }
  if (starts.length > MAX_INTERVALS) reader.fail('/starts', `must have at most ${MAX_INTERVALS} intervals`);
  const step = minutes * 60_000;
  for (let i = 0; i < starts.length && i < MAX_INTERVALS; i++) {
    const start = reader.number(`/starts/${i}`, starts[i]);
    if (i > 0 && Number.isFinite(step) && Math.abs(start - (starts[i - 1] as number) - step) > 1e-6) {
      reader.fail(`/starts/${i}`, `must be ${minutes} minutes after the previous start`);
      break;
    }
  }
  return { intervals: Math.min(starts.length, MAX_INTERVALS), hours: minutes / 60 };
}

function readProducts(reader: Reader, value: unknown, intervals: number): NormalProduct[] {
  if (value === undefined) return [];
  const products = reader.record('/products', value) ?? {};
  const out: NormalProduct[] = [];
  for (const key of Object.keys(products)) {
    if (!(CAPACITY_PRODUCTS as readonly string[]).includes(key)) {
      reader.fail(`/products/${key}`, `is not a capacity product (${CAPACITY_PRODUCTS.join(', ')})`);
      continue;
    }
    if (products[key] === undefined) continue;
    const product = key as CapacityProduct;
    const offer = reader.record(`/products/${key}`, products[key]) ?? {};
    out.push({
      product,
      direction: PRODUCT_DIRECTION[product],
      priceUsdPerMwH: reader.series(`/products/${key}/priceUsdPerMwH`, offer.priceUsdPerMwH, intervals),
      sustainHours: reader.number(`/products/${key}/sustainHours`, offer.sustainHours, { min: 0 }),
    });
  }
  return out;
}

function readCommitments(reader: Reader, value: unknown, intervals: number, ids: Map<string, number>) {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    reader.fail('/commitments', 'must be an array');
    return [];
  }
  const seen = new Set<string>();
  return value.map((item, i): NormalCommitment => {
    const path = `/commitments/${i}`;
    const raw = reader.record(path, item) ?? {};
    const id = typeof raw.id === 'string' && raw.id.length > 0 ? raw.id : `#${i}`;
    if (typeof raw.id !== 'string' || raw.id.length === 0) reader.fail(`${path}/id`, 'must be a non-empty string');
    else if (seen.has(id)) reader.fail(`${path}/id`, 'must be unique');
    seen.add(id);
    const [fromInterval, toInterval] = readWindow(reader, path, raw.fromInterval, raw.toInterval, intervals);
    const minNetDischargeKw = reader.number(`${path}/minNetDischargeKw`, raw.minNetDischargeKw, { min: 0 });
    let members = [...ids.values()];
    if (raw.batteryIds !== undefined) {
      if (!Array.isArray(raw.batteryIds) || raw.batteryIds.length === 0) {
        reader.fail(`${path}/batteryIds`, 'must be a non-empty array of battery ids');
      } else {
        members = [];
        raw.batteryIds.forEach((batteryId: unknown, k: number) => {
          const index = typeof batteryId === 'string' ? ids.get(batteryId) : undefined;
          if (index === undefined) reader.fail(`${path}/batteryIds/${k}`, 'is not the id of a battery in the request');
          else if (!members.includes(index)) members.push(index);
        });
      }
    }
    return { id, fromInterval, toInterval, minNetDischargeKw, members };
  });
}

function readNoCharge(reader: Reader, value: unknown, intervals: number): Uint8Array {
  const noCharge = new Uint8Array(intervals);
  if (value === undefined) return noCharge;
  if (!Array.isArray(value)) {
    reader.fail('/noChargeWindows', 'must be an array');
    return noCharge;
  }
  value.forEach((item, i) => {
    const raw = reader.record(`/noChargeWindows/${i}`, item) ?? {};
    const [from, to] = readWindow(reader, `/noChargeWindows/${i}`, raw.fromInterval, raw.toInterval, intervals);
    if (Number.isInteger(from) && Number.isInteger(to)) noCharge.fill(1, from, to);
  });
  return noCharge;
}

/** Columns the model would have, to refuse requests too large to build. */
function estimatedColumns(request: NormalRequest): number {
  let perInterval = 0;
  for (const battery of request.batteries) perInterval += 3 + 4 * battery.segments + 4 + request.products.length;
  return perInterval * request.intervals;
}

/** Validates and normalises; throws GW_ERR_VALIDATION listing every bad field. */
export function normalizeRequest(input: PlanRequest): NormalRequest {
  const reader = new Reader();
  const request = reader.record('', input) ?? {};
  const { intervals, hours } = readTimeline(reader, request);
  const energyPriceUsdPerMwh = reader.series('/energyPriceUsdPerMwh', request.energyPriceUsdPerMwh, intervals);
  const batteries: NormalBattery[] = [];
  const ids = new Map<string, number>();
  if (!Array.isArray(request.batteries) || request.batteries.length === 0) {
    reader.fail('/batteries', 'must be a non-empty array');
  } else {
    request.batteries.forEach((item: unknown, i: number) => {
      const battery = readBattery(reader, i, item, intervals, hours);
      if (battery.id !== '' && ids.has(battery.id)) reader.fail(`/batteries/${i}/id`, 'must be unique');
      ids.set(battery.id, i);
      batteries.push(battery);
    });
  }
  const shared = request.shared === undefined ? {} : (reader.record('/shared', request.shared) ?? {});
  const normal: NormalRequest = {
    intervals,
    hours,
    starts: Array.isArray(request.starts) ? (request.starts as number[]).slice(0, intervals) : [],
    energyPriceUsdPerMwh,
    batteries,
    products: readProducts(reader, request.products, intervals),
    commitments: readCommitments(reader, request.commitments, intervals, ids),
    sharedExportLimitKw: reader.optional('/shared/exportLimitKw', shared.exportLimitKw, Number.POSITIVE_INFINITY, {
      min: 0,
    }),
    sharedImportLimitKw: reader.optional('/shared/importLimitKw', shared.importLimitKw, Number.POSITIVE_INFINITY, {
      min: 0,
    }),
    noCharge: readNoCharge(reader, request.noChargeWindows, intervals),
    socSlackPenaltyUsdPerKwh: reader.optional(
      '/socSlackPenaltyUsdPerKwh',
      request.socSlackPenaltyUsdPerKwh,
      DEFAULT_SOC_SLACK_PENALTY_USD_PER_KWH,
      { min: 0 },
    ),
  };
  if (reader.issues.length === 0 && estimatedColumns(normal) > MAX_COLUMNS) {
    reader.fail('/batteries', `the model would exceed ${MAX_COLUMNS} columns; split the fleet or the horizon`);
  }
  if (reader.issues.length > 0) {
    const first = reader.issues[0] as ValidationIssue;
    const more = reader.issues.length > 1 ? ` (and ${reader.issues.length - 1} more)` : '';
    throw new GridseamError('GW_ERR_VALIDATION', `invalid plan request: ${first.path} ${first.message}${more}`, {
      issues: reader.issues,
    });
  }
  return normal;
}
