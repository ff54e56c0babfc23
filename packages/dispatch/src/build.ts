/**
 * The pure model builder: a normalised plan request to an LP in HiGHS's shape (typed arrays,
 * CSR matrix), maximising revenue - degradation - penalties, in $ with kW/kWh variables.
 * Formulation: ../shared/docs/notes/bess_market.md §1.1-§1.3.
 *
 * Energy of battery b at the end of interval t (kWh) is a sum of parts:
 *
 *   E[t] = E_lo - u[t] + sum_j e_j[t] + v[t]
 *
 * - e_j in [0, w], j = 1..J: the band [E_lo, E_hi] cut into J equal depth segments (Xu et al.
 *   2018); j = 1 is the shallowest and cheapest to discharge. Without a cycle-depth cost J = 1 at
 *   no cost, so the plain model is the same machinery with one segment.
 * - u in [0, E_lo]: energy missing below the floor, only when the measured soc0 starts below the
 *   band; penalised per kWh per interval (a slack that decays as charging refills the floor).
 * - v >= 0: energy above the ceiling, only when soc0 starts above the band; penalised the same way
 *   and only ever discharged.
 *
 * Every part keeps the SoC dynamics with retention rho = 1 - sigma x dt (self-discharge):
 *   e_j[t] = rho e_j[t-1] + eta_c dt c_j[t] - (dt / eta_d) d_j[t] - q_j[t]
 *   u[t]   = rho u[t-1] + sigma dt E_lo - sum_j q_j[t] - eta_c dt c_u[t]
 *   v[t]   = rho v[t-1] - (dt / eta_d) d_v[t]
 * and charge c = sum_j c_j + c_u, discharge d = sum_j d_j + d_v, which sums exactly to
 *   E[t] = rho E[t-1] + eta_c dt c[t] - (dt / eta_d) d[t].
 * q_j >= 0 is the floor's own self-discharge (sigma dt E_lo per interval when the floor is full)
 * taken from whichever segment holds energy; with one segment and no deficit it is a constant.
 *
 * Columns are laid out battery by battery, interval by interval, with a fixed stride per battery;
 * rows carry a kind, a subject and an interval so a failure can be explained.
 */
import type { CapacityProduct } from './contract.ts';
import type { NormalBattery, NormalRequest } from './normalize.ts';

/** What a row expresses; relaxable groups are used to diagnose infeasibility. */
export const ROW_KIND = {
  segmentDynamics: 0,
  floorDynamics: 1,
  excessDynamics: 2,
  chargeSplit: 3,
  dischargeSplit: 4,
  siteLimit: 5,
  headroomUp: 6,
  headroomDown: 7,
  sustainUp: 8,
  sustainDown: 9,
  terminal: 10,
  commitment: 11,
  commitmentReserve: 12,
  sharedLimit: 13,
  exclusive: 14,
} as const;
export type RowKind = (typeof ROW_KIND)[keyof typeof ROW_KIND];
const ROW_KIND_NAMES = Object.fromEntries(Object.entries(ROW_KIND).map(([name, code]) => [code, name])) as Record<
  number,
  string
>;

/** Offsets of one battery's columns inside its per-interval stride (-1: absent). */
export interface BatteryLayout {
  base: number;
  stride: number;
  segments: number;
  charge: number;
  discharge: number;
  /** e_1..e_J. */
  energy: number;
  /** c_1..c_J and d_1..d_J; -1 when segment 1's charge (discharge) is the aggregate column itself. */
  segmentCharge: number;
  segmentDischarge: number;
  /** q_1..q_J, the floor's self-discharge drawn from the segments. */
  drain: number;
  deficit: number;
  deficitCharge: number;
  excess: number;
  excessDischarge: number;
  /** One column per offered product, in `NormalRequest.products` order. */
  products: number;
  /** Segment width w, kWh. */
  widthKwh: number;
  /** Initial values of the parts. */
  initialSegmentKwh: Float64Array;
  initialDeficitKwh: number;
  initialExcessKwh: number;
}

export interface DispatchModel {
  numCols: number;
  numRows: number;
  colCost: Float64Array;
  colLower: Float64Array;
  colUpper: Float64Array;
  rowLower: Float64Array;
  rowUpper: Float64Array;
  /** CSR. */
  starts: Int32Array;
  indices: Int32Array;
  values: Float64Array;
  /** Constant objective term, $. */
  offset: number;
  /** Variable types (1: integer) when the model has binaries; absent: an LP. */
  integrality?: Int32Array;
  rowKind: Uint8Array;
  /** Battery index, commitment index or -1 (fleet rows), per row. */
  rowSubject: Int32Array;
  rowInterval: Int32Array;
  layouts: BatteryLayout[];
  intervals: number;
  /**
   * Rows before this index each belong to one battery; from it on they couple batteries
   * (commitments, shared limits), so the model without them splits into independent blocks.
   */
  couplingFrom: number;
}

class Growable<T extends Float64Array | Int32Array | Uint8Array> {
  array: T;
  length = 0;
  constructor(
    private readonly make: (n: number) => T,
    capacity = 1024,
  ) {
    this.array = make(Math.max(16, capacity));
  }
  push(value: number): void {
    if (this.length === this.array.length) {
      const next = this.make(this.array.length * 2);
      next.set(this.array);
      this.array = next;
    }
    this.array[this.length++] = value;
  }
  /** The filled part (a view: no copy of arrays that can be megabytes). */
  done(): T {
    return this.array.subarray(0, this.length) as T;
  }
}

/** Appends rows in CSR form; a row's entries must name distinct columns. */
export class RowWriter {
  readonly starts: Growable<Int32Array>;
  readonly indices: Growable<Int32Array>;
  readonly values: Growable<Float64Array>;
  readonly lower: Growable<Float64Array>;
  readonly upper: Growable<Float64Array>;
  readonly kind: Growable<Uint8Array>;
  readonly subject: Growable<Int32Array>;
  readonly interval: Growable<Int32Array>;

  /** Capacity hints avoid regrowing megabyte arrays while a large fleet model is written. */
  constructor(rowsHint = 1024, entriesHint = 4096) {
    this.starts = new Growable((n) => new Int32Array(n), rowsHint + 1);
    this.indices = new Growable((n) => new Int32Array(n), entriesHint);
    this.values = new Growable((n) => new Float64Array(n), entriesHint);
    this.lower = new Growable((n) => new Float64Array(n), rowsHint);
    this.upper = new Growable((n) => new Float64Array(n), rowsHint);
    this.kind = new Growable((n) => new Uint8Array(n), rowsHint);
    this.subject = new Growable((n) => new Int32Array(n), rowsHint);
    this.interval = new Growable((n) => new Int32Array(n), rowsHint);
    this.starts.push(0);
  }

  get rows(): number {
    return this.lower.length;
  }

  add(column: number, value: number): void {
    if (value === 0) return;
    this.indices.push(column);
    this.values.push(value);
  }

  end(lower: number, upper: number, kind: RowKind, subject: number, interval: number): void {
    this.starts.push(this.indices.length);
    this.lower.push(lower);
    this.upper.push(upper);
    this.kind.push(kind);
    this.subject.push(subject);
    this.interval.push(interval);
  }
}

const INF = Number.POSITIVE_INFINITY;

function layoutBattery(battery: NormalBattery, base: number, products: number): BatteryLayout {
  const J = battery.segments;
  const width = (battery.ceilingKwh - battery.floorKwh) / J;
  const hasDeficit = battery.initialKwh < battery.floorKwh;
  const hasExcess = battery.initialKwh > battery.ceilingKwh;
  const drains = battery.retention < 1 && battery.floorKwh > 0 && (J > 1 || hasDeficit);
  let next = 0;
  const take = (count: number) => {
    const at = next;
    next += count;
    return at;
  };
  const charge = take(1);
  const discharge = take(1);
  const energy = take(J);
  const segmentCharge = J > 1 || hasDeficit ? take(J) : -1;
  const segmentDischarge = J > 1 || hasExcess ? take(J) : -1;
  const drain = drains ? take(J) : -1;
  const deficit = hasDeficit ? take(1) : -1;
  const deficitCharge = hasDeficit ? take(1) : -1;
  const excess = hasExcess ? take(1) : -1;
  const excessDischarge = hasExcess ? take(1) : -1;
  const productsAt = take(products);
  // Initial energy inside the band fills the shallowest segments first: discharging from the
  // measured state is a shallow cycle.
  const inBand = Math.min(Math.max(battery.initialKwh - battery.floorKwh, 0), battery.ceilingKwh - battery.floorKwh);
  const initialSegmentKwh = new Float64Array(J);
  for (let j = 0; j < J; j++) initialSegmentKwh[j] = Math.min(width, Math.max(0, inBand - j * width));
  return {
    base,
    stride: next,
    segments: J,
    charge,
    discharge,
    energy,
    segmentCharge,
    segmentDischarge,
    drain,
    deficit,
    deficitCharge,
    excess,
    excessDischarge,
    products: productsAt,
    widthKwh: width,
    initialSegmentKwh,
    initialDeficitKwh: hasDeficit ? battery.floorKwh - battery.initialKwh : 0,
    initialExcessKwh: hasExcess ? battery.initialKwh - battery.ceilingKwh : 0,
  };
}

/** Column index helpers. */
export function col(layout: BatteryLayout, t: number, offset: number): number {
  return layout.base + t * layout.stride + offset;
}
export function segmentChargeCol(layout: BatteryLayout, t: number, j: number): number {
  return layout.segmentCharge < 0 ? col(layout, t, layout.charge) : col(layout, t, layout.segmentCharge + j);
}
export function segmentDischargeCol(layout: BatteryLayout, t: number, j: number): number {
  return layout.segmentDischarge < 0 ? col(layout, t, layout.discharge) : col(layout, t, layout.segmentDischarge + j);
}

/** Adds the terms of "energy above the floor" E - E_lo = sum_j e_j - u + v, scaled. */
function addEnergyAboveFloor(rows: RowWriter, layout: BatteryLayout, t: number, scale: number, parts = 'all'): void {
  for (let j = 0; j < layout.segments; j++) rows.add(col(layout, t, layout.energy + j), scale);
  if (layout.deficit >= 0 && parts !== 'dischargeable') rows.add(col(layout, t, layout.deficit), -scale);
  if (layout.excess >= 0 && parts !== 'chargeable') rows.add(col(layout, t, layout.excess), scale);
}

/** Target the final energy must reach, kWh, or undefined. Outside the band, "initial" means the nearest band edge. */
export function terminalFloorKwh(battery: NormalBattery): number | undefined {
  const terminal = battery.terminal;
  if (terminal.kind === 'at-least-initial') {
    return Math.min(Math.max(battery.initialKwh, battery.floorKwh), battery.ceilingKwh);
  }
  if (terminal.kind === 'target') return terminal.energyKwh;
  return undefined;
}

/**
 * A power window as column bounds: net discharge d - c in [lo, hi] holds exactly (without
 * exclusivity) with d in [max(0, lo), max(0, hi)] and c in [max(0, -hi), max(0, -lo)].
 */
function boundNetDischarge(
  model: DispatchModel,
  battery: NormalBattery,
  layout: BatteryLayout,
  t: number,
  chargeCap: number,
): void {
  const lo = Math.max(battery.netMinKw?.[t] ?? -INF, -chargeCap);
  const hi = Math.max(lo, Math.min(battery.netMaxKw?.[t] ?? INF, battery.dischargeKw));
  const d = col(layout, t, layout.discharge);
  const c = col(layout, t, layout.charge);
  model.colLower[d] = Math.max(0, lo);
  model.colUpper[d] = Math.max(0, hi);
  model.colLower[c] = Math.max(0, -hi);
  model.colUpper[c] = Math.max(0, -lo);
}

function writeColumns(model: DispatchModel, request: NormalRequest, battery: NormalBattery, layout: BatteryLayout) {
  const { hours } = request;
  const { colCost, colLower, colUpper } = model;
  const J = layout.segments;
  const T = request.intervals;
  const calendar = (battery.calendarUsdPerMwhHour * hours) / 1000;
  const penalty = request.socSlackPenaltyUsdPerKwh;
  const terminalValue = battery.terminal.kind === 'value' ? battery.terminal.usdPerMwh / 1000 : 0;
  const set = (c: number, cost: number, lower: number, upper: number) => {
    colCost[c] = cost;
    colLower[c] = lower;
    colUpper[c] = upper;
  };
  for (let t = 0; t < T; t++) {
    const price = ((request.energyPriceUsdPerMwh[t] as number) * hours) / 1000;
    const chargeCap = request.noCharge[t] ? 0 : battery.chargeKw;
    const last = t === T - 1 ? terminalValue : 0;
    set(col(layout, t, layout.charge), -price, 0, chargeCap);
    const wear = (battery.throughputUsdPerMwh * hours) / 1000;
    set(col(layout, t, layout.discharge), price - wear, 0, battery.dischargeKw);
    if (battery.netMinKw && battery.netMaxKw) boundNetDischarge(model, battery, layout, t, chargeCap);
    for (let j = 0; j < J; j++) {
      set(col(layout, t, layout.energy + j), -calendar + last, 0, layout.widthKwh);
      const cycleCost = ((battery.segmentCostUsdPerMwh[j] as number) * hours) / 1000;
      if (layout.segmentCharge >= 0) set(col(layout, t, layout.segmentCharge + j), 0, 0, chargeCap);
      if (layout.segmentDischarge >= 0)
        set(col(layout, t, layout.segmentDischarge + j), -cycleCost, 0, battery.dischargeKw);
      else
        colCost[col(layout, t, layout.discharge)] = (colCost[col(layout, t, layout.discharge)] as number) - cycleCost;
      if (layout.drain >= 0) set(col(layout, t, layout.drain + j), 0, 0, INF);
    }
    if (layout.deficit >= 0) {
      set(col(layout, t, layout.deficit), calendar - penalty - last, 0, battery.floorKwh);
      set(col(layout, t, layout.deficitCharge), 0, 0, chargeCap);
    }
    if (layout.excess >= 0) {
      set(col(layout, t, layout.excess), -calendar - penalty + last, 0, layout.initialExcessKwh);
      // Energy above the band is the shallowest there is: it costs the first segment's rate.
      const cycleCost = ((battery.segmentCostUsdPerMwh[0] as number) * hours) / 1000;
      set(col(layout, t, layout.excessDischarge), -cycleCost, 0, battery.dischargeKw);
    }
    request.products.forEach((product, k) => {
      const revenue = ((product.priceUsdPerMwH[t] as number) * hours) / 1000;
      set(col(layout, t, layout.products + k), revenue, 0, battery.chargeKw + battery.dischargeKw);
    });
  }
  // The floor E_lo is always stored: its calendar cost and terminal value are constants.
  model.offset += -calendar * battery.floorKwh * T + terminalValue * battery.floorKwh;
}

function writeDynamics(
  rows: RowWriter,
  request: NormalRequest,
  battery: NormalBattery,
  layout: BatteryLayout,
  t: number,
) {
  const b = battery.index;
  const { hours } = request;
  const rho = battery.retention;
  const chargeGain = battery.etaCharge * hours;
  const dischargeLoss = hours / battery.etaDischarge;
  const floorLoss = (1 - rho) * battery.floorKwh;
  for (let j = 0; j < layout.segments; j++) {
    rows.add(col(layout, t, layout.energy + j), 1);
    if (t > 0) rows.add(col(layout, t - 1, layout.energy + j), -rho);
    rows.add(segmentChargeCol(layout, t, j), -chargeGain);
    rows.add(segmentDischargeCol(layout, t, j), dischargeLoss);
    if (layout.drain >= 0) rows.add(col(layout, t, layout.drain + j), 1);
    let rhs = t === 0 ? rho * (layout.initialSegmentKwh[j] as number) : 0;
    // One segment, no deficit: the floor's self-discharge comes out of the segment.
    if (layout.drain < 0) rhs -= floorLoss;
    rows.end(rhs, rhs, ROW_KIND.segmentDynamics, b, t);
  }
  if (layout.deficit >= 0 || layout.drain >= 0) {
    let rhs = floorLoss;
    if (layout.deficit >= 0) {
      rows.add(col(layout, t, layout.deficit), 1);
      if (t > 0) rows.add(col(layout, t - 1, layout.deficit), -rho);
      else rhs += rho * layout.initialDeficitKwh;
      rows.add(col(layout, t, layout.deficitCharge), chargeGain);
    }
    if (layout.drain >= 0) for (let j = 0; j < layout.segments; j++) rows.add(col(layout, t, layout.drain + j), 1);
    rows.end(rhs, rhs, ROW_KIND.floorDynamics, b, t);
  }
  if (layout.excess >= 0) {
    rows.add(col(layout, t, layout.excess), 1);
    if (t > 0) rows.add(col(layout, t - 1, layout.excess), -rho);
    rows.add(col(layout, t, layout.excessDischarge), dischargeLoss);
    const rhs = t === 0 ? rho * layout.initialExcessKwh : 0;
    rows.end(rhs, rhs, ROW_KIND.excessDynamics, b, t);
  }
  if (layout.segmentCharge >= 0) {
    for (let j = 0; j < layout.segments; j++) rows.add(col(layout, t, layout.segmentCharge + j), 1);
    if (layout.deficitCharge >= 0) rows.add(col(layout, t, layout.deficitCharge), 1);
    rows.add(col(layout, t, layout.charge), -1);
    rows.end(0, 0, ROW_KIND.chargeSplit, b, t);
  }
  if (layout.segmentDischarge >= 0) {
    for (let j = 0; j < layout.segments; j++) rows.add(col(layout, t, layout.segmentDischarge + j), 1);
    if (layout.excessDischarge >= 0) rows.add(col(layout, t, layout.excessDischarge), 1);
    rows.add(col(layout, t, layout.discharge), -1);
    rows.end(0, 0, ROW_KIND.dischargeSplit, b, t);
  }
}

/** Site import/export: net site export pv - load + d - c within [-import, export]. */
function writeSiteLimit(rows: RowWriter, battery: NormalBattery, layout: BatteryLayout, t: number) {
  if (battery.importLimitKw === INF && battery.exportLimitKw === INF) return;
  const own = (battery.pvKw[t] as number) - (battery.loadKw[t] as number);
  rows.add(col(layout, t, layout.discharge), 1);
  rows.add(col(layout, t, layout.charge), -1);
  rows.end(-battery.importLimitKw - own, battery.exportLimitKw - own, ROW_KIND.siteLimit, battery.index, t);
}

/**
 * Capacity products: power headroom (d - c + sum_up r <= P_d; c - d + sum_down r <= P_c) and
 * energy sustain for tau hours (sum_up r tau / eta_d <= energy above the floor; sum_down r tau
 * eta_c <= room below the ceiling), measured at the interval's end as in notes §1.3.
 */
type Offered = ReadonlyArray<readonly [NormalRequest['products'][number], number]>;

/** The offered products of each direction with their column offsets, computed once per request. */
function offeredByDirection(request: NormalRequest): Record<'up' | 'down', Offered> {
  const indexed = request.products.map((product, k) => [product, k] as const);
  return {
    up: indexed.filter(([product]) => product.direction === 'up'),
    down: indexed.filter(([product]) => product.direction === 'down'),
  };
}

function writeProducts(
  rows: RowWriter,
  offeredProducts: Record<'up' | 'down', Offered>,
  battery: NormalBattery,
  layout: BatteryLayout,
  t: number,
) {
  const b = battery.index;
  for (const direction of ['up', 'down'] as const) {
    const offered = offeredProducts[direction];
    if (offered.length === 0) continue;
    const sign = direction === 'up' ? 1 : -1;
    rows.add(col(layout, t, layout.discharge), sign);
    rows.add(col(layout, t, layout.charge), -sign);
    for (const [, k] of offered) rows.add(col(layout, t, layout.products + k), 1);
    const cap = direction === 'up' ? battery.dischargeKw : battery.chargeKw;
    rows.end(-INF, cap, direction === 'up' ? ROW_KIND.headroomUp : ROW_KIND.headroomDown, b, t);
    if (offered.every(([p]) => p.sustainHours === 0)) continue;
    if (direction === 'up') {
      addEnergyAboveFloor(rows, layout, t, 1, 'dischargeable');
      for (const [p, k] of offered)
        rows.add(col(layout, t, layout.products + k), -p.sustainHours / battery.etaDischarge);
      rows.end(0, INF, ROW_KIND.sustainUp, b, t);
    } else {
      addEnergyAboveFloor(rows, layout, t, 1, 'chargeable');
      for (const [p, k] of offered) rows.add(col(layout, t, layout.products + k), p.sustainHours * battery.etaCharge);
      rows.end(-INF, battery.ceilingKwh - battery.floorKwh, ROW_KIND.sustainDown, b, t);
    }
  }
}

function writeTerminal(rows: RowWriter, request: NormalRequest, battery: NormalBattery, layout: BatteryLayout) {
  const target = terminalFloorKwh(battery);
  if (target === undefined) return;
  const t = request.intervals - 1;
  addEnergyAboveFloor(rows, layout, t, 1);
  rows.end(target - battery.floorKwh, INF, ROW_KIND.terminal, battery.index, t);
}

/**
 * A firm commitment of K kW over [from, to): for every interval of the window the member
 * batteries' summed net discharge d - c is at least K; and the energy to sustain it is reserved
 * beforehand: at the window's start (end of interval from - 1) the members' deliverable energy,
 * sum_b eta_d,b x (E_b - E_lo,b), is at least K x |window| x dt. A window that starts at interval 0
 * has its reserve checked against the measured energy before the model is built (feasibility.ts).
 */
function writeCommitments(rows: RowWriter, request: NormalRequest, layouts: BatteryLayout[]) {
  request.commitments.forEach((commitment, index) => {
    for (let t = commitment.fromInterval; t < commitment.toInterval; t++) {
      for (const b of commitment.members) {
        const layout = layouts[b] as BatteryLayout;
        rows.add(col(layout, t, layout.discharge), 1);
        rows.add(col(layout, t, layout.charge), -1);
      }
      rows.end(commitment.minNetDischargeKw, INF, ROW_KIND.commitment, index, t);
    }
    if (commitment.fromInterval === 0 || commitment.minNetDischargeKw === 0) return;
    const before = commitment.fromInterval - 1;
    for (const b of commitment.members) {
      const battery = request.batteries[b] as NormalBattery;
      addEnergyAboveFloor(rows, layouts[b] as BatteryLayout, before, battery.etaDischarge, 'dischargeable');
    }
    const needed = commitment.minNetDischargeKw * (commitment.toInterval - commitment.fromInterval) * request.hours;
    rows.end(needed, INF, ROW_KIND.commitmentReserve, index, before);
  });
}

/** Shared feeder limits on the summed net export of every battery's site. */
function writeSharedLimits(rows: RowWriter, request: NormalRequest, layouts: BatteryLayout[], t: number) {
  if (request.sharedExportLimitKw === INF && request.sharedImportLimitKw === INF) return;
  let own = 0;
  for (const battery of request.batteries) {
    const layout = layouts[battery.index] as BatteryLayout;
    own += (battery.pvKw[t] as number) - (battery.loadKw[t] as number);
    rows.add(col(layout, t, layout.discharge), 1);
    rows.add(col(layout, t, layout.charge), -1);
  }
  rows.end(-request.sharedImportLimitKw - own, request.sharedExportLimitKw - own, ROW_KIND.sharedLimit, -1, t);
}

export function buildModel(request: NormalRequest): DispatchModel {
  const layouts: BatteryLayout[] = [];
  let numCols = 0;
  for (const battery of request.batteries) {
    const layout = layoutBattery(battery, numCols, request.products.length);
    layouts.push(layout);
    numCols += layout.stride * request.intervals;
  }
  // Rows: about one per segment per interval plus a few; entries: about 4 per row.
  let rowsHint = 0;
  for (const layout of layouts) rowsHint += (layout.segments + 4) * request.intervals;
  const rows = new RowWriter(rowsHint, 5 * rowsHint);
  const partial: DispatchModel = {
    numCols,
    numRows: 0,
    colCost: new Float64Array(numCols),
    colLower: new Float64Array(numCols),
    colUpper: new Float64Array(numCols),
    rowLower: new Float64Array(0),
    rowUpper: new Float64Array(0),
    starts: new Int32Array(1),
    indices: new Int32Array(0),
    values: new Float64Array(0),
    offset: 0,
    rowKind: new Uint8Array(0),
    rowSubject: new Int32Array(0),
    rowInterval: new Int32Array(0),
    layouts,
    intervals: request.intervals,
    couplingFrom: 0,
  };
  const offered = offeredByDirection(request);
  const hasProducts = request.products.length > 0;
  for (const battery of request.batteries) {
    const layout = layouts[battery.index] as BatteryLayout;
    writeColumns(partial, request, battery, layout);
    for (let t = 0; t < request.intervals; t++) {
      writeDynamics(rows, request, battery, layout, t);
      writeSiteLimit(rows, battery, layout, t);
      if (hasProducts) writeProducts(rows, offered, battery, layout, t);
    }
    writeTerminal(rows, request, battery, layout);
  }
  partial.couplingFrom = rows.rows;
  writeCommitments(rows, request, layouts);
  for (let t = 0; t < request.intervals; t++) writeSharedLimits(rows, request, layouts, t);
  return {
    ...partial,
    numRows: rows.rows,
    rowLower: rows.lower.done(),
    rowUpper: rows.upper.done(),
    starts: rows.starts.done(),
    indices: rows.indices.done(),
    values: rows.values.done(),
    rowKind: rows.kind.done(),
    rowSubject: rows.subject.done(),
    rowInterval: rows.interval.done(),
  };
}

/** A readable name for a column, for diagnosis and tests: "b0.charge[12]", "b1.e3[0]". */
export function describeColumn(model: DispatchModel, request: NormalRequest, column: number): string {
  const b = model.layouts.findLastIndex((layout) => layout.base <= column);
  const layout = model.layouts[b];
  if (!layout) return `col${column}`;
  const offset = (column - layout.base) % layout.stride;
  const t = Math.floor((column - layout.base) / layout.stride);
  const id = request.batteries[b]?.id ?? `b${b}`;
  const named: Array<[number, number, string]> = [
    [layout.charge, 1, 'charge'],
    [layout.discharge, 1, 'discharge'],
    [layout.energy, layout.segments, 'e'],
    [layout.segmentCharge, layout.segments, 'c'],
    [layout.segmentDischarge, layout.segments, 'd'],
    [layout.drain, layout.segments, 'drain'],
    [layout.deficit, 1, 'deficit'],
    [layout.deficitCharge, 1, 'deficitCharge'],
    [layout.excess, 1, 'excess'],
    [layout.excessDischarge, 1, 'excessDischarge'],
  ];
  for (const [at, count, name] of named) {
    if (at >= 0 && offset >= at && offset < at + count) return `${id}.${name}${count > 1 ? offset - at + 1 : ''}[${t}]`;
  }
  const product: CapacityProduct | undefined = request.products[offset - layout.products]?.product;
  return `${id}.${product ?? 'col'}[${t}]`;
}

export function describeRow(model: DispatchModel, row: number): string {
  return `${ROW_KIND_NAMES[model.rowKind[row] as number]}(${model.rowSubject[row]})[${model.rowInterval[row]}]`;
}

/** (battery index, interval) pairs that get a charge/discharge binary. */
export type ExclusivePair = readonly [battery: number, interval: number];

/**
 * Exact no-simultaneous-charge-and-discharge for the given pairs: a binary y per pair with
 * c <= P_c y and d <= P_d (1 - y). Returns a copy of the model with the binaries appended as
 * columns (after every battery column) and two rows per pair appended at the end.
 */
export function addExclusivity(
  model: DispatchModel,
  request: NormalRequest,
  pairs: readonly ExclusivePair[],
): DispatchModel & { integrality: Int32Array; binaryColumns: Int32Array } {
  const numCols = model.numCols + pairs.length;
  const grow = (source: Float64Array, fill: number) => {
    const out = new Float64Array(numCols).fill(fill);
    out.set(source);
    return out;
  };
  const colLower = grow(model.colLower, 0);
  const colUpper = grow(model.colUpper, 1);
  const integrality = new Int32Array(numCols);
  const binaryColumns = new Int32Array(pairs.length);
  const rows = new RowWriter();
  pairs.forEach(([b, t], k) => {
    const y = model.numCols + k;
    integrality[y] = 1;
    binaryColumns[k] = y;
    const layout = model.layouts[b] as BatteryLayout;
    const battery = request.batteries[b] as NormalBattery;
    rows.add(col(layout, t, layout.charge), 1);
    rows.add(y, -battery.chargeKw);
    rows.end(-INF, 0, ROW_KIND.exclusive, b, t);
    rows.add(col(layout, t, layout.discharge), 1);
    rows.add(y, battery.dischargeKw);
    rows.end(-INF, battery.dischargeKw, ROW_KIND.exclusive, b, t);
  });
  const extraStarts = rows.starts.done();
  const baseNnz = model.indices.length;
  const starts = new Int32Array(model.numRows + rows.rows + 1);
  starts.set(model.starts);
  for (let r = 1; r <= rows.rows; r++) starts[model.numRows + r] = baseNnz + (extraStarts[r] as number);
  const concat = <T extends Float64Array | Int32Array | Uint8Array>(a: T, b: T): T => {
    const out = new (a.constructor as new (n: number) => T)(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  return {
    ...model,
    numCols,
    numRows: model.numRows + rows.rows,
    colCost: grow(model.colCost, 0),
    colLower,
    colUpper,
    rowLower: concat(model.rowLower, rows.lower.done()),
    rowUpper: concat(model.rowUpper, rows.upper.done()),
    starts,
    indices: concat(model.indices, rows.indices.done()),
    values: concat(model.values, rows.values.done()),
    rowKind: concat(model.rowKind, rows.kind.done()),
    rowSubject: concat(model.rowSubject, rows.subject.done()),
    rowInterval: concat(model.rowInterval, rows.interval.done()),
    integrality,
    binaryColumns,
  };
}
